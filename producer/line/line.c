/* line.c — one production line per thread: claim, validate, allocate, render, print, encode, finish or spoil,
 * with a heartbeat that keeps leases alive and a rescuer that returns abandoned work to the queue */
#include "producer.h"
#include "store/store.h"

#include "base/config.h"
#include "dispatch/dispatch.h"
#include "encoder.h"
#include "base/log.h"
#include "photo.h"
#include "intake/photo_receipt.h"
#include "printer.h"
#include "intake/rules.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IDLE_WAIT_MS   1000
/* how many failed statements or reconnections a line rides out while registering (about a second each) */
#define REGISTER_DB_TRIES 60
/* how long (seconds, about) a starting controller waits for a database that does not answer */
#define STARTUP_DB_TRIES 60

static atomic_bool stop_requested;
static atomic_int cards_done;

struct controller {
    const struct db_config *db;
    const struct producer_run_config *cfg;
    char id[96]; /* host:pid:random, the owner written into leases */
    char faces_dir[PATH_MAX + 16];
    uint8_t master_key[16]; /* per-run issuer key shared by the simulated cards and the soft key service */
    char card_prefix[2];
    char region[7];
    int max_attempts;
    struct printer_layout *layout;    /* the card face layout, loaded once and shared by the line threads */
    struct encoder_key_service *keys; /* one per controller, shared by its lines (a PSAM has one owner) */
    struct photo_checker *photo_checker;  /* face and eye models, loaded once, read-only for the lines */
    struct photo_profile photo_profile;   /* the bureau's photo rules */
    /* the card types the stations accept, comma-separated */
    char atr_allow[CONFIG_MAX_ATRS * (CONFIG_ATR_TEXT_MAX + 1)];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int lines_running;
};

struct line {
    struct controller *ctl;
    int index;
    char id[72];
    const char *printer_spec;
    const char *encoder_spec;
    bool counter;
    PGconn *conn;
    struct printer *printer;
    struct encoder_transport *encoder;
    int good, spoiled, held;
    /* the application in hand, whose lease the heartbeat extends; 0 when none. An application the line lost
     * track of (database error mid-card) is not in hand, so its lease runs out and the rescuer takes it back.
     */
    _Atomic int64_t in_hand;
    int64_t busy_ns;       /* time spent inside device operations ... */
    int64_t first_work_ns; /* ... over the time from its first claim to the end of its last card: utilisation */
    int64_t last_work_ns;
    struct producer_claimer claimer;
    /* the line's face renderer: one thread for the line's life, so its font caches stay warm */
    pthread_mutex_t render_lock;
    pthread_cond_t render_cond;
    pthread_t render_thread;
    bool render_started, render_quit;
    struct render_task *render_pending; /* handed to the renderer, not yet taken; NULL when none */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Time a device operation towards the line's utilisation. */
#define DEVICE(l, call)                                                                                      \
    ({                                                                                                       \
        int64_t t0_ = mono_ns();                                                                             \
        int r_ = (call);                                                                                     \
        (l)->busy_ns += mono_ns() - t0_;                                                                     \
        r_;                                                                                                  \
    })

/* What one claimed application needs on its way through the line. */
struct job {
    struct producer_claim c;
    char card_number[10];
    struct photo_image *photo;
};

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static bool cfg_done(const struct controller *ctl)
{
    return ctl->cfg->max_cards > 0 && atomic_load(&cards_done) >= ctl->cfg->max_cards;
}

static void copy_field(char *dst, size_t size, const PGresult *res, int row, int col)
{
    snprintf(dst, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

/* --- database steps ------------------------------------------------------------------------------------- */

void producer_claimer_init(struct producer_claimer *c, PGconn *conn, const char *owner, int lease_seconds)
{
    memset(c, 0, sizeof(*c));
    c->conn = conn;
    c->owner = owner;
    c->lease_seconds = lease_seconds;
}

/* The dates every card of the day shares, fetched once a minute instead of in every claim. */
static int refresh_day(struct producer_claimer *c)
{
    int64_t now = mono_ns();
    PGresult *res;

    if (c->day_ns && now - c->day_ns < 60 * (int64_t)1000000000)
        return 0;
    res = db_exec(
        c->conn,
        "SELECT to_char(bureau_date(clock_now()), 'YYYYMMDD'), bureau_date(clock_now()), "
        "  (bureau_date(clock_now()) + make_interval(years => (SELECT value::integer FROM setting "
        "                                                WHERE key = 'card_validity_years')))::date, "
        "  bureau_date(clock_now()) + (SELECT value::integer FROM setting WHERE key = 'temporary_validity_days')",
        0, NULL);
    if (!db_ok(res) || PQntuples(res) != 1) {
        log_error("queue", "reading today's dates: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    copy_field(c->today, sizeof(c->today), res, 0, 0);
    copy_field(c->issue_date, sizeof(c->issue_date), res, 0, 1);
    copy_field(c->expiry_date, sizeof(c->expiry_date), res, 0, 2);
    copy_field(c->temporary_expiry_date, sizeof(c->temporary_expiry_date), res, 0, 3);
    PQclear(res);
    c->day_ns = now;
    return 0;
}

#define CLAIM_STATEMENT "cardline_claim"
#define CLAIM_SQL(filter)                                                                                    \
    "UPDATE application a SET status = 'in_production', locked_by = $1, "                                    \
    "  lease_until = clock_now() + make_interval(secs => $2::integer), attempts = a.attempts + 1, "                \
    "  step = 'claimed', updated_at = clock_now() "                                                                \
    "FROM (SELECT id FROM application WHERE status = 'pending' " filter " "                                  \
    "      ORDER BY priority, latest_completion, id FOR UPDATE SKIP LOCKED LIMIT 1) c "                      \
    "WHERE a.id = c.id "                                                                                     \
    "RETURNING a.id, a.upstream_id, a.kind, a.doc_type, a.doc_number, a.ssn, a.name, a.sex, "                \
    "  a.ethnicity, a.birth_date, a.birth_place, a.nationality, a.outlet_code, "                             \
    "  coalesce(a.bank_name, ''), coalesce(a.photo_id, 0), "                                                 \
    "  coalesce(a.replaced_card_number, ''), a.attempts"
#define CLAIM_COUNTER_STATEMENT "cardline_claim_counter"

int producer_claim(struct producer_claimer *c, struct producer_claim *ret)
{
    char lease[16];
    const char *params[2] = {c->owner, lease};
    PGresult *res;
    int r = 0;

    if (refresh_day(c) < 0)
        return PRODUCER_ERROR_DB;
    snprintf(lease, sizeof(lease), "%d", c->lease_seconds);
    /* prepared once per session: the claim is the queue's hot path and planning it costs more than running it
     */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!c->prepared) {
            /* a counter line issues temporary cards only, while the applicant waits at the window */
            res = PQprepare(c->conn, c->counter ? CLAIM_COUNTER_STATEMENT : CLAIM_STATEMENT,
                            c->counter ? CLAIM_SQL("AND kind = 'temporary'") : CLAIM_SQL(""), 2, NULL);
            /* 42P05: another claimer on this session prepared it already */
            if (!db_ok(res) && strcmp(db_sqlstate(res), "42P05") != 0) {
                log_error("queue", "prepare claim: %s", PQresultErrorMessage(res));
                PQclear(res);
                return PRODUCER_ERROR_DB;
            }
            PQclear(res);
            c->prepared = true;
        }
        res = PQexecPrepared(c->conn, c->counter ? CLAIM_COUNTER_STATEMENT : CLAIM_STATEMENT, 2, params, NULL,
                             NULL, 0);
        /* a reconnected session has lost its prepared statements */
        if (strcmp(db_sqlstate(res), "26000") == 0) {
            PQclear(res);
            c->prepared = false;
            continue;
        }
        break;
    }
    if (!db_ok(res)) {
        log_error("queue", "claim failed: %s", PQresultErrorMessage(res));
        r = PRODUCER_ERROR_DB;
    } else if (PQntuples(res) == 1) {
        struct producer_app *a = &ret->app;
        memset(ret, 0, sizeof(*ret));
        a->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        copy_field(ret->id_text, sizeof(ret->id_text), res, 0, 0);
        copy_field(a->upstream_id, sizeof(a->upstream_id), res, 0, 1);
        copy_field(a->kind, sizeof(a->kind), res, 0, 2);
        copy_field(a->doc_type, sizeof(a->doc_type), res, 0, 3);
        copy_field(a->doc_number, sizeof(a->doc_number), res, 0, 4);
        copy_field(a->ssn, sizeof(a->ssn), res, 0, 5);
        copy_field(a->name, sizeof(a->name), res, 0, 6);
        a->sex = PQgetvalue(res, 0, 7)[0];
        a->ethnicity = atoi(PQgetvalue(res, 0, 8));
        copy_field(a->birth_date, sizeof(a->birth_date), res, 0, 9);
        copy_field(a->birth_place, sizeof(a->birth_place), res, 0, 10);
        copy_field(a->nationality, sizeof(a->nationality), res, 0, 11);
        copy_field(a->outlet_code, sizeof(a->outlet_code), res, 0, 12);
        copy_field(a->bank_name, sizeof(a->bank_name), res, 0, 13);
        a->photo_id = strtoll(PQgetvalue(res, 0, 14), NULL, 10);
        copy_field(a->replaced_card, sizeof(a->replaced_card), res, 0, 15);
        a->attempts = atoi(PQgetvalue(res, 0, 16));
        snprintf(ret->today, sizeof(ret->today), "%s", c->today);
        snprintf(ret->issue_date, sizeof(ret->issue_date), "%s", c->issue_date);
        snprintf(ret->expiry_date, sizeof(ret->expiry_date), "%s",
                 strcmp(a->kind, "temporary") == 0 ? c->temporary_expiry_date : c->expiry_date);
        r = 1;
    }
    PQclear(res);
    return r;
}

static int begin(PGconn *conn)
{
    return db_command(conn, "begin", "BEGIN", 0, NULL);
}

static int commit(PGconn *conn)
{
    return db_command(conn, "commit", "COMMIT", 0, NULL);
}

static void rollback(PGconn *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
}

/* Rows touched by an UPDATE that must find the application still ours; 0 means another controller's rescuer
 * took it back because our lease ran out. */
static int update_owned(struct line *l, const char *ctx, const char *sql, int nparams,
                        const char *const *params)
{
    PGresult *res = db_exec(l->conn, sql, nparams, params);
    int r;

    if (!db_ok(res)) {
        log_error(l->id, "%s: %s", ctx, PQresultErrorMessage(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    r = atoi(PQcmdTuples(res));
    PQclear(res);
    return r;
}

/* Hold the application with a reason a person can act on; the deadline clock stops while it is held. */
static void hold(struct line *l, struct job *job, const char *reason)
{
    const char *params[3] = {job->c.id_text, l->ctl->id, reason};

    if (begin(l->conn) < 0)
        return;
    /* validation holds wait for the applicant (new photo, corrected data): their days extend the deadline */
    if (update_owned(l, "hold",
                     "UPDATE application SET status = 'held', held_reason = $3, held_since = clock_now(), "
                     "  held_for_applicant = true, locked_by = NULL, lease_until = NULL, step = NULL, "
                     "  updated_at = clock_now() "
                     "WHERE id = $1 AND locked_by = $2 AND status = 'in_production'",
                     3, params) != 1 ||
        store_event(l->conn, l->id, "held", job->c.id_text, NULL, NULL, reason) < 0) {
        rollback(l->conn);
        return;
    }
    if (commit(l->conn) == 0) {
        l->held++;
        log_warn(l->id, "application %s held: %s", job->c.id_text, reason);
    }
}

/* What the chip receives; card_number is a placeholder when checking before a number is allocated. */
static void fill_chip_data(const struct controller *ctl, const struct job *job, const char *card_number,
                           struct encoder_card_data *d)
{
    const struct producer_app *a = &job->c.app;

    memset(d, 0, sizeof(*d));
    snprintf(d->region_code, sizeof(d->region_code), "%s", ctl->region);
    d->card_type = '3';
    snprintf(d->spec_version, sizeof(d->spec_version), "3.00");
    snprintf(d->card_number, sizeof(d->card_number), "%s", card_number);
    /* YYYY-MM-DD -> YYYYMMDD */
    snprintf(d->issue_date, sizeof(d->issue_date), "%.4s%.2s%.2s", job->c.issue_date, job->c.issue_date + 5,
             job->c.issue_date + 8);
    snprintf(d->expiry_date, sizeof(d->expiry_date), "%.4s%.2s%.2s", job->c.expiry_date,
             job->c.expiry_date + 5, job->c.expiry_date + 8);
    snprintf(d->ssn, sizeof(d->ssn), "%s", a->ssn);
    d->name = a->name;
    d->sex = a->sex;
    d->ethnicity = (unsigned)a->ethnicity;
    snprintf(d->birth_place, sizeof(d->birth_place), "%s", a->birth_place);
    snprintf(d->birth_date, sizeof(d->birth_date), "%.4s%.2s%.2s", a->birth_date, a->birth_date + 5,
             a->birth_date + 8);
}

/* Checks that need the database: outlet known, kind rules, one person one card, photo present and acceptable.
 * Returns 0 when the application may go on, CHECK_HOLD with a reason a person can act on, or a negative
 * PRODUCER_ERROR when the check itself could not be made (the database failed or went away): that is never the
 * applicant's problem, so the caller must not hold the application for it. */
#define CHECK_HOLD 1
static int check_with_db(struct line *l, struct job *job, char *reason, size_t reason_size)
{
    const struct producer_app *a = &job->c.app;
    const char *p_outlet[1] = {a->outlet_code};
    const char *p_person[2] = {a->ssn, strcmp(a->kind, "temporary") == 0 ? "t" : "f"};
    const char *p_card[2] = {a->replaced_card, a->ssn};
    char photo_id[24];
    const char *p_photo[1] = {photo_id};
    PGresult *res;
    int r = CHECK_HOLD;

/* a query that failed is the database's fault, never the applicant's */
#define QUERY_OK(what)                                                                                       \
    do {                                                                                                     \
        if (!db_ok(res)) {                                                                                   \
            log_warn(l->id, "application %s: %s: %s", job->c.id_text, what, PQresultErrorMessage(res));    \
            r = PRODUCER_ERROR_DB;                                                                           \
            goto out;                                                                                        \
        }                                                                                                    \
    } while (0)

    res = db_exec(l->conn, "SELECT 1 FROM outlet WHERE code = $1", 1, p_outlet);
    QUERY_OK("outlet check");
    if (PQntuples(res) != 1) {
        snprintf(reason, reason_size, "unknown pickup outlet '%s'; correct the outlet or register it",
                 a->outlet_code);
        goto out;
    }
    PQclear(res);

    if (strcmp(a->kind, "replacement") == 0 || strcmp(a->kind, "exchange") == 0) {
        res = db_exec(l->conn, "SELECT status, person_key = $2 FROM card WHERE card_number = $1", 2, p_card);
        QUERY_OK("earlier card check");
        if (PQntuples(res) != 1) {
            snprintf(reason, reason_size, "%s names card %s, which this bureau never issued", a->kind,
                     a->replaced_card);
            goto out;
        }
        if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
            snprintf(reason, reason_size, "card %s to be replaced belongs to someone else", a->replaced_card);
            goto out;
        }
        if (strcmp(a->kind, "replacement") == 0 && strcmp(PQgetvalue(res, 0, 0), "lost") != 0) {
            snprintf(reason, reason_size,
                     "replacement needs a formal loss report for card %s first (card is '%s')",
                     a->replaced_card, PQgetvalue(res, 0, 0));
            goto out;
        }
        if (strcmp(a->kind, "exchange") == 0 && strcmp(PQgetvalue(res, 0, 0), "issued") != 0) {
            snprintf(reason, reason_size, "exchange needs card %s to be in the holder's hands (card is '%s')",
                     a->replaced_card, PQgetvalue(res, 0, 0));
            goto out;
        }
        PQclear(res);
    }

    /* a new card needs a person without one; a replacement or exchange is checked above */
    res = db_exec(l->conn,
                  "SELECT card_number, status FROM card WHERE person_key = $1 AND temporary = $2::boolean "
                  "  AND status IN ('allocated', 'printing', 'encoding', 'ejecting', 'good', 'in_transit', "
                  "                 'at_outlet', 'issued') "
                  "ORDER BY created_at",
                  2, p_person);
    QUERY_OK("existing cards check");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *st = PQgetvalue(res, i, 1);
        bool old_card_of_exchange =
            strcmp(a->kind, "exchange") == 0 && strcmp(PQgetvalue(res, i, 0), a->replaced_card) == 0;
        if (!old_card_of_exchange) {
            snprintf(
                reason, reason_size,
                "the person already has card %s (%s); one person, one card — use a replacement or exchange",
                PQgetvalue(res, i, 0), st);
            goto out;
        }
    }
    PQclear(res);

    snprintf(photo_id, sizeof(photo_id), "%" PRId64, a->photo_id);
    res = PQexecParams(l->conn, "SELECT bytes FROM photo WHERE id = $1", 1, NULL, p_photo, NULL, NULL, 1);
    QUERY_OK("photo");
    if (PQntuples(res) != 1) {
        snprintf(reason, reason_size, "photo %s is missing; the applicant must submit a photo", photo_id);
        goto out;
    }
    {
        const uint8_t *bytes = (const uint8_t *)PQgetvalue(res, 0, 0);
        size_t len = (size_t)PQgetlength(res, 0, 0);
        char why[RULES_REASON_MAX - 32] = "";
        /* a valid receipt for exactly these bytes, or the same full check the studios run */
        int g = producer_photo_gate(l->conn, l->ctl->photo_checker, &l->ctl->photo_profile, a->photo_id,
                                    bytes, len, why, sizeof(why));
        if (g == PRODUCER_ERROR_INPUT) {
            snprintf(reason, reason_size, "%s; a new photo is needed", why);
            goto out;
        }
        if (g == PRODUCER_ERROR_DB || g == PRODUCER_ERROR_NOMEM) {
            /* the receipt lookup failed or memory ran out: try again later */
            log_warn(l->id, "application %s: photo gate: %s", job->c.id_text, producer_strerror(g));
            r = g;
            goto out;
        }
        if (g < 0) {
            snprintf(reason, reason_size, "photo could not be checked: %s", producer_strerror(g));
            goto out;
        }
        if (photo_decode(bytes, len, &job->photo) < 0) {
            snprintf(reason, reason_size, "photo cannot be decoded; a new photo is needed");
            goto out;
        }
    }
    {
        char bad[8] = "", why[128] = "";
        struct encoder_card_data chip;
        fill_chip_data(l->ctl, job, "A00000000", &chip);
        if (encoder_check_card_data(&chip, why, sizeof(why)) < 0) {
            snprintf(reason, reason_size, "the data cannot be written to the chip: %s", why);
            goto out;
        }
        if (printer_check_text_layout(l->ctl->layout, a->name, bad) < 0) {
            snprintf(reason, reason_size,
                     "the name contains '%s', which no installed font can print; install a font that has it",
                     bad);
            goto out;
        }
    }
    r = 0;
out:
#undef QUERY_OK
    PQclear(res);
    return r;
}

/* Card number and the blank leaving the hopper, in one transaction. */
static int allocate(struct line *l, struct job *job, char *reason, size_t reason_size)
{
    bool temporary = strcmp(job->c.app.kind, "temporary") == 0;
    const char *params[8] = {job->c.id_text,
                             l->ctl->id,
                             l->id,
                             job->c.app.ssn,
                             job->c.issue_date,
                             job->c.expiry_date,
                             temporary ? "T" : l->ctl->card_prefix,
                             temporary ? "t" : "f"};
    PGresult *res;
    const char *pc[3];

    if (begin(l->conn) < 0)
        return PRODUCER_ERROR_DB;
    res = db_exec(
        l->conn,
        "INSERT INTO card (card_number, application_id, person_key, status, line_id, printer, encoder, "
        "  issue_date, expiry_date, temporary) "
        "SELECT $7 || lpad(nextval('card_number_seq')::text, 8, '0'), $1, $4, 'allocated', $3, "
        "  l.printer, l.encoder, $5, $6, $8 FROM line l WHERE l.id = $3 "
        "  AND EXISTS (SELECT 1 FROM application WHERE id = $1 AND locked_by = $2 "
        "              AND status = 'in_production') "
        "RETURNING card_number",
        8, params);
    if (!db_ok(res) || PQntuples(res) != 1) {
        bool dup = strcmp(db_sqlstate(res), "23505") == 0;
        if (dup)
            snprintf(reason, reason_size,
                     "the person already has a card in production or awaiting collection");
        else if (db_ok(res))
            log_warn(l->id, "application %s is no longer ours", job->c.id_text);
        else
            log_error(l->id, "allocate: %s", PQresultErrorMessage(res));
        PQclear(res);
        rollback(l->conn);
        return dup ? 1 : PRODUCER_ERROR_DB;
    }
    copy_field(job->card_number, sizeof(job->card_number), res, 0, 0);
    PQclear(res);
    pc[0] = l->id;
    pc[1] = job->card_number;
    pc[2] = job->c.id_text;
    if (db_command(l->conn, "record feed",
                   "INSERT INTO stock_move (line_id, kind, quantity, card_number) VALUES ($1, 'fed', 1, $2)",
                   2, pc) < 0 ||
        db_command(l->conn, "step", "UPDATE application SET step = 'feeding' WHERE id = $1", 1, pc + 2) < 0 ||
        store_event(l->conn, l->id, "allocated", job->c.id_text, job->card_number, NULL, NULL) < 0 ||
        commit(l->conn) < 0) {
        rollback(l->conn);
        return PRODUCER_ERROR_DB;
    }
    return 0;
}

/* Record the next physical step before it starts. */
static int card_step(struct line *l, struct job *job, const char *status)
{
    const char *params[4] = {job->card_number, status, job->c.id_text, l->ctl->id};
    int r;

    if (begin(l->conn) < 0)
        return PRODUCER_ERROR_DB;
    r = update_owned(l, "card step",
                     "UPDATE application SET step = $1 WHERE id = $2 AND locked_by = $3 AND status = "
                     "'in_production'",
                     3, params + 1);
    if (r == 1)
        r = update_owned(
            l, "card step",
            "UPDATE card SET status = $2 WHERE card_number = $1 AND status NOT IN ('spoiled', 'unused')", 2,
            params);
    if (r != 1) {
        rollback(l->conn);
        return r < 0 ? r : PRODUCER_ERROR_NOT_FOUND;
    }
    return commit(l->conn);
}

/* The blank never left the hopper: give the number up (it is never reused) and undo the stock move. */
static void unfed(struct line *l, struct job *job, const char *cause)
{
    const char *params[3] = {job->card_number, l->id, job->c.id_text};
    const char *p_app[2] = {job->c.id_text, l->ctl->id};

    if (begin(l->conn) < 0)
        return;
    if (db_command(l->conn, "unused card",
                   "UPDATE card SET status = 'unused', finished_at = clock_now() "
                   "WHERE card_number = $1",
                   1, params) < 0 ||
        db_command(l->conn, "unfed",
                   "INSERT INTO stock_move (line_id, kind, quantity, card_number) "
                   "VALUES ($2, 'unfed', 1, $1)",
                   2, params) < 0 ||
        update_owned(l, "requeue",
                     "UPDATE application SET status = 'pending', locked_by = NULL, lease_until = NULL, "
                     "  step = NULL, attempts = attempts - 1, updated_at = clock_now() "
                     "WHERE id = $1 AND locked_by = $2 AND status = 'in_production'",
                     2, p_app) < 0 ||
        store_event(l->conn, l->id, "feed_failed", job->c.id_text, job->card_number, NULL, cause) < 0) {
        rollback(l->conn);
        return;
    }
    commit(l->conn);
}

/* The card is spoiled: it keeps its number and reason; the application is retried or, after too many
 * attempts, held for an operator. */
static void spoil(struct line *l, struct job *job, const char *reason, bool hold_now)
{
    char hold_reason[RULES_REASON_MAX];
    char max[12];
    const char *p_card[2] = {job->card_number, reason};
    const char *p_app[4] = {job->c.id_text, l->ctl->id, max, hold_reason};
    const char *p_line[1] = {l->id};

    /* a fault in the data, not the card, would only repeat: hold at once */
    snprintf(max, sizeof(max), "%d", hold_now ? 0 : l->ctl->max_attempts);
    if (hold_now)
        snprintf(hold_reason, sizeof(hold_reason), "%s", reason);
    else
        snprintf(hold_reason, sizeof(hold_reason), "production failed %d times; last: %s",
                 job->c.app.attempts, reason);
    if (begin(l->conn) < 0)
        return;
    if (db_command(l->conn, "spoil card",
                   "UPDATE card SET status = 'spoiled', spoil_reason = $2, finished_at = clock_now() "
                   "WHERE card_number = $1 AND status NOT IN ('spoiled', 'unused')",
                   2, p_card) < 0 ||
        update_owned(l, "requeue",
                     "UPDATE application SET "
                     "  status = CASE WHEN attempts >= $3::integer THEN 'held' ELSE 'pending' END, "
                     "  held_reason = CASE WHEN attempts >= $3::integer THEN $4 END, "
                     "  held_since = CASE WHEN attempts >= $3::integer THEN clock_now() END, "
                     "  held_for_applicant = false, "
                     "  locked_by = NULL, lease_until = NULL, step = NULL, updated_at = clock_now() "
                     "WHERE id = $1 AND locked_by = $2 AND status = 'in_production'",
                     4, p_app) < 0 ||
        db_command(l->conn, "count spoiled",
                   "UPDATE line SET cards_spoiled = cards_spoiled + 1 WHERE id = $1", 1, p_line) < 0 ||
        store_event(l->conn, l->id, "spoiled", job->c.id_text, job->card_number, NULL, reason) < 0) {
        rollback(l->conn);
        return;
    }
    if (commit(l->conn) == 0) {
        l->spoiled++;
        log_warn(l->id, "card %s spoiled (application %s): %s", job->card_number, job->c.id_text, reason);
    }
}

/* The card is good: record it, mark the application produced and put the card into its outlet's open
 * shipment. A temporary card is handed over at the counter instead; a replacement blacklists the card it
 * replaces. */
static int finish(struct line *l, struct job *job, const struct encoder_result *enc)
{
    bool temporary = strcmp(job->c.app.kind, "temporary") == 0;
    const char *p_card[4] = {job->card_number, enc->atr_hex, enc->card_id_hex, temporary ? "issued" : "good"};
    const char *p_app[2] = {job->c.id_text, l->ctl->id};
    const char *p_line[1] = {l->id};
    const char *p_old[1] = {job->c.app.replaced_card};
    char shipment[19] = "";
    int r;

    if (begin(l->conn) < 0)
        return PRODUCER_ERROR_DB;
    /* the events the database writes itself (packing) name this line */
    PQclear(db_exec(l->conn, "SELECT set_config('cardline.actor', $1, true)", 1, p_line));
    r = update_owned(l, "produced",
                     "UPDATE application SET status = 'produced', produced_at = clock_now(), locked_by = NULL, "
                     "  lease_until = NULL, step = NULL, updated_at = clock_now() "
                     "WHERE id = $1 AND locked_by = $2 AND status = 'in_production'",
                     2, p_app);
    if (r == 1)
        r = update_owned(l, "good card",
                         "UPDATE card SET status = $4, atr = $2, chip_id = $3, finished_at = clock_now() "
                         "WHERE card_number = $1 AND status = 'ejecting'",
                         4, p_card);
    if (r != 1)
        goto fail;
    if (strcmp(job->c.app.kind, "replacement") == 0 &&
        db_command(l->conn, "blacklist", "UPDATE card SET blacklisted_at = clock_now() WHERE card_number = $1", 1,
                   p_old) < 0)
        goto fail;
    if (db_command(l->conn, "count good", "UPDATE line SET cards_good = cards_good + 1 WHERE id = $1", 1,
                   p_line) < 0 ||
        store_event(l->conn, l->id, temporary ? "issued_at_counter" : "produced", job->c.id_text,
                       job->card_number, NULL, enc->card_id_hex) < 0)
        goto fail;
    /* into its outlet's open shipment (the database records the packing in the chain of custody) */
    if (!temporary && producer_dispatch_pack(l->conn, job->card_number, job->c.app.outlet_code, shipment) < 0)
        goto fail;
    if (commit(l->conn) < 0)
        return PRODUCER_ERROR_DB;
    l->good++;
    atomic_fetch_add(&cards_done, 1);
    if (temporary)
        log_info(l->id, "temporary card %s issued at the counter for application %s", job->card_number,
                 job->c.id_text);
    else
        log_info(l->id, "card %s good for application %s, packed in shipment %s", job->card_number,
                 job->c.id_text, shipment);
    return 0;
fail:
    rollback(l->conn);
    return r < 0 ? r : PRODUCER_ERROR_NOT_FOUND;
}

/* --- the physical steps --------------------------------------------------------------------------------- */

/* The checks could not be made (the database failed or went away): give the application back untouched — no
 * hold, no attempt used, no deadline moved — and let the line back off. When the session is gone the lease runs
 * out instead and the rescuer returns the application the same way (nothing physical happened yet). */
static void requeue_unchecked(struct line *l, struct job *job)
{
    const char *params[2] = {job->c.id_text, l->ctl->id};

    if (PQstatus(l->conn) == CONNECTION_BAD || begin(l->conn) < 0)
        return;
    if (update_owned(l, "requeue",
                     "UPDATE application SET status = 'pending', locked_by = NULL, lease_until = NULL, "
                     "  step = NULL, attempts = attempts - 1, updated_at = clock_now() "
                     "WHERE id = $1 AND locked_by = $2 AND status = 'in_production' AND step = 'claimed'",
                     2, params) != 1) {
        rollback(l->conn);
        return;
    }
    commit(l->conn);
}

/* Pause the line for an operator, with the cause shown in the dashboard and status. */
static void pause_line(struct line *l, const char *cause)
{
    const char *params[2] = {l->id, cause};

    db_command(l->conn, "pause line", "UPDATE line SET state = 'paused', state_reason = $2 WHERE id = $1", 2,
               params);
    log_error(l->id, "line paused: %s", cause);
}

/* Every this many good cards the line asks the printer for its ribbon and cleaning state, and warns while
 * fewer than RIBBON_LOW_CARDS prints are left (the printer's own counters: Evolis Rco;l, Magicard STA$$). */
#define RIBBON_CHECK_CARDS 25
#define RIBBON_LOW_CARDS   50

static void ribbon_check(struct line *l)
{
    enum printer_disposition disp;
    struct printer_status st;
    char cause[160];

    if (printer_get_status(l->printer, &st, &disp, cause) < 0)
        return;
    if (st.ribbon_left >= 0 && st.ribbon_left < RIBBON_LOW_CARDS)
        log_warn(l->id, "ribbon low: the printer reports %ld prints left", st.ribbon_left);
    if (st.cleaning_due == 1)
        log_warn(l->id, "the printer asks for a cleaning");
}

/* The card's face is rendered on its own thread while the chip is personalised, so that the printer never
 * waits for the renderer (DESIGN: the face is ready while the card is in the printer). */
struct render_task {
    struct printer_face face;
    struct printer_raster *raster;
    int r;
    bool running; /* handed to the line's renderer and not yet joined */
    bool done;    /* the renderer has finished it (under render_lock) */
};

static void render_now(struct render_task *t)
{
    char bad[8] = "";

    t->r = printer_render_face(&t->face, &t->raster, bad);
}

/* The line's renderer: takes one task at a time until told to quit. */
static void *render_worker(void *arg)
{
    struct line *l = arg;

    pthread_mutex_lock(&l->render_lock);
    for (;;) {
        struct render_task *t;

        while (!l->render_quit && !l->render_pending)
            pthread_cond_wait(&l->render_cond, &l->render_lock);
        if (!l->render_pending)
            break;
        t = l->render_pending;
        l->render_pending = NULL;
        pthread_mutex_unlock(&l->render_lock);
        render_now(t);
        pthread_mutex_lock(&l->render_lock);
        t->done = true;
        pthread_cond_broadcast(&l->render_cond);
    }
    pthread_mutex_unlock(&l->render_lock);
    return NULL;
}

/* Starts the line's renderer (false: none could be started; faces are then rendered in the line's thread). */
static void render_worker_start(struct line *l)
{
    pthread_mutex_init(&l->render_lock, NULL);
    pthread_cond_init(&l->render_cond, NULL);
    l->render_quit = false;
    l->render_pending = NULL;
    l->render_started = pthread_create(&l->render_thread, NULL, render_worker, l) == 0;
}

static void render_worker_stop(struct line *l)
{
    if (l->render_started) {
        pthread_mutex_lock(&l->render_lock);
        l->render_quit = true;
        pthread_cond_broadcast(&l->render_cond);
        pthread_mutex_unlock(&l->render_lock);
        pthread_join(l->render_thread, NULL);
        l->render_started = false;
    }
    pthread_cond_destroy(&l->render_cond);
    pthread_mutex_destroy(&l->render_lock);
}

static void render_start(struct line *l, struct render_task *t)
{
    t->done = false;
    t->running = l->render_started;
    if (!t->running) {
        render_now(t); /* no renderer: render here, the card just waits a little longer */
        return;
    }
    pthread_mutex_lock(&l->render_lock);
    l->render_pending = t;
    pthread_cond_broadcast(&l->render_cond);
    pthread_mutex_unlock(&l->render_lock);
}

/* Waits for the face; hands the raster over (NULL when rendering failed, see t->r). Idempotent. */
static struct printer_raster *render_join(struct line *l, struct render_task *t)
{
    struct printer_raster *r;

    if (t->running) {
        pthread_mutex_lock(&l->render_lock);
        while (!t->done)
            pthread_cond_wait(&l->render_cond, &l->render_lock);
        pthread_mutex_unlock(&l->render_lock);
        t->running = false;
    }
    r = t->raster;
    t->raster = NULL;
    return r;
}

/* Returns 0 to go on, 1 when the line must stop. */
static int produce(struct line *l, struct job *job)
{
    char reason[RULES_REASON_MAX], cause[160] = "";
    enum printer_disposition disp = PRINTER_DISPOSITION_OK;
    struct printer_raster *raster = NULL;
    struct render_task render = {.running = false};
    struct encoder_card_data chip;
    struct encoder_result enc;
    struct printer_face face;
    int r, today = atoi(job->c.today);

    if (!producer_validate_app(&job->c.app, today, reason, sizeof(reason))) {
        hold(l, job, reason);
        return 0;
    }
    r = check_with_db(l, job, reason, sizeof(reason));
    if (r == CHECK_HOLD) {
        hold(l, job, reason);
        return 0;
    }
    if (r < 0) {
        requeue_unchecked(l, job);
        return 0;
    }
    r = allocate(l, job, reason, sizeof(reason));
    if (r == 1) {
        hold(l, job, reason);
        return 0;
    }
    if (r < 0)
        return 0; /* the lease runs out and the rescuer returns the application */

    if (DEVICE(l, printer_feed(l->printer, &disp, cause)) < 0) {
        unfed(l, job, cause);
        if (disp == PRINTER_DISPOSITION_PAUSE_LINE || disp == PRINTER_DISPOSITION_DEVICE_GONE) {
            pause_line(l, cause);
            return 1;
        }
        return 0;
    }

    memset(&face, 0, sizeof(face));
    face.name = job->c.app.name;
    face.ssn = job->c.app.ssn;
    face.card_number = job->card_number;
    face.issue_year = atoi(job->c.issue_date);
    face.issue_month = atoi(job->c.issue_date + 5);
    face.bank_name = job->c.app.bank_name[0] ? job->c.app.bank_name : NULL;
    face.photo_rgb = job->photo->rgb;
    face.photo_width = job->photo->width;
    face.photo_height = job->photo->height;
    face.layout = l->ctl->layout;
    /* the face renders while the chip is personalised */
    memset(&render, 0, sizeof(render));
    render.face = face;
    render_start(l, &render);

    /* Chip first (issue 11): the blank is personalised at the contact station before any ribbon is spent, so
     * a card whose chip fails costs no ribbon. */
    if (card_step(l, job, "encoding") < 0)
        goto lost;
    if (DEVICE(l, printer_to_encoder(l->printer, &disp, cause)) < 0) {
        snprintf(reason, sizeof(reason), "move to chip station failed: %s", cause);
        goto reject;
    }
    fill_chip_data(l->ctl, job, job->card_number, &chip);
    memset(&enc, 0, sizeof(enc));
    r = DEVICE(l, encoder_personalize(l->encoder, l->ctl->keys, &chip, &enc));
    if (r == ENCODER_ERROR_ENCODING || r == ENCODER_ERROR_INVALID) {
        /* the data, not the card, is at fault: spoil this card but hold the application */
        snprintf(reason, sizeof(reason), "chip data cannot be encoded: %s", enc.cause);
        spoil(l, job, reason, true);
        printer_reject(l->printer, NULL, NULL);
        printer_raster_free(render_join(l, &render));
        return 0;
    }
    if (r < 0) {
        snprintf(reason, sizeof(reason), "chip personalisation failed: %s",
                 enc.cause[0] ? enc.cause : encoder_strerror(r));
        /* the station itself is gone or stuck: this card is spoiled and an operator must look at the reader
         */
        if (r == ENCODER_ERROR_NO_READER || r == ENCODER_ERROR_TIMEOUT) {
            disp = PRINTER_DISPOSITION_PAUSE_LINE;
            snprintf(cause, sizeof(cause), "chip encoder: %.120s",
                     enc.cause[0] ? enc.cause : encoder_strerror(r));
        }
        goto reject;
    }
    raster = render_join(l, &render);
    if (!raster) {
        snprintf(reason, sizeof(reason), "face rendering failed: %s", printer_strerror(render.r));
        goto reject;
    }
    if (card_step(l, job, "printing") < 0)
        goto lost;
    if (DEVICE(l, printer_print(l->printer, raster, job->card_number, &disp, cause)) < 0) {
        snprintf(reason, sizeof(reason), "print failed: %s", cause);
        goto reject;
    }
    if (card_step(l, job, "ejecting") < 0)
        goto lost;
    if (DEVICE(l, printer_eject(l->printer, &disp, cause)) < 0) {
        snprintf(reason, sizeof(reason), "eject failed: %s", cause);
        goto reject;
    }
    printer_raster_free(raster);
    if (finish(l, job, &enc) < 0)
        log_error(l->id, "card %s was ejected but could not be recorded good; the rescuer will spoil it",
                  job->card_number);
    else if (l->good % RIBBON_CHECK_CARDS == 0)
        ribbon_check(l);
    return 0;

reject:
    printer_raster_free(raster);
    printer_raster_free(render_join(l, &render));
    spoil(l, job, reason, false);
    {
        enum printer_disposition rdisp = PRINTER_DISPOSITION_OK;
        char rcause[160] = "";
        if (printer_reject(l->printer, &rdisp, rcause) < 0 && rdisp != PRINTER_DISPOSITION_OK)
            log_error(l->id, "could not reject card %s: %s", job->card_number, rcause);
    }
    if (disp == PRINTER_DISPOSITION_PAUSE_LINE || disp == PRINTER_DISPOSITION_DEVICE_GONE) {
        pause_line(l, cause);
        return 1;
    }
    return 0;

lost:
    /* The application is no longer ours (cancelled, or our lease ran out and a rescuer took it) or the
     * database is unreachable. The card goes to the reject box; record it spoiled when we still can —
     * otherwise the rescuer does once the lease runs out. */
    printer_raster_free(raster);
    printer_raster_free(render_join(l, &render));
    log_error(l->id, "lost application %s while producing card %s; rejecting the card", job->c.id_text,
              job->card_number);
    printer_reject(l->printer, NULL, NULL);
    {
        const char *p[1] = {job->card_number};
        db_command(l->conn, "spoil lost card",
                   "UPDATE card SET status = 'spoiled', finished_at = clock_now(), "
                   "  spoil_reason = 'application withdrawn from the line (cancelled or lease lost)' "
                   "WHERE card_number = $1 AND status IN ('allocated', 'printing', 'encoding', 'ejecting') "
                   "  AND NOT EXISTS (SELECT 1 FROM application a WHERE a.id = card.application_id "
                   "                  AND a.status = 'in_production')",
                   1, p);
    }
    return 0;
}

/* --- threads -------------------------------------------------------------------------------------------- */

static bool work_left(struct line *l)
{
    PGresult *res = db_exec(l->conn,
                            "SELECT EXISTS (SELECT 1 FROM application WHERE status = 'pending') "
                            "    OR EXISTS (SELECT 1 FROM application WHERE status = 'in_production')",
                            0, NULL);
    bool left = !db_ok(res) || strcmp(PQgetvalue(res, 0, 0), "t") == 0;

    PQclear(res);
    return left;
}

/* LISTEN is only a hint to wake early; the timeout makes us poll anyway. */
static void idle_wait(PGconn *conn)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    PGnotify *n;

    if (pfd.fd >= 0 && poll(&pfd, 1, IDLE_WAIT_MS) > 0)
        PQconsumeInput(conn);
    while ((n = PQnotifies(conn)))
        PQfreemem(n);
}

static void *line_main(void *arg)
{
    struct line *l = arg;
    struct controller *ctl = l->ctl;
    enum printer_disposition disp;
    char cause[160];
    struct job job;
    int backoff_ms = 100;

    render_worker_start(l);
    /* after a crash a card may still be inside: it goes to the reject box before anything else */
    if (printer_purge(l->printer, &disp, cause) < 0)
        log_warn(l->id, "purge at start-up: %s", cause);
    store_work_listen(l->conn);

    while (!atomic_load(&stop_requested) && !cfg_done(ctl)) {
        int r;

        memset(&job, 0, sizeof(job));
        r = producer_claim(&l->claimer, &job.c);
        if (r < 0) {
            /* the database went away or refused: back off (100 ms doubling to 5 s) and reconnect */
            if (PQstatus(l->conn) == CONNECTION_BAD) {
                log_warn(l->id, "database connection lost; reconnecting in %d ms", backoff_ms);
                nanosleep(&(struct timespec){.tv_sec = backoff_ms / 1000,
                                             .tv_nsec = (long)(backoff_ms % 1000) * 1000000L},
                          NULL);
                PQreset(l->conn);
                if (PQstatus(l->conn) == CONNECTION_OK) {
                    store_work_listen(l->conn);
                    log_info(l->id, "database connection back");
                }
            } else {
                idle_wait(l->conn);
            }
            backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
            continue;
        }
        backoff_ms = 100;
        if (r == 0) {
            if (ctl->cfg->until_empty && !work_left(l))
                break;
            idle_wait(l->conn);
            continue;
        }
        atomic_store(&l->in_hand, job.c.app.id);
        if (!l->first_work_ns)
            l->first_work_ns = mono_ns();
        r = produce(l, &job);
        l->last_work_ns = mono_ns();
        atomic_store(&l->in_hand, 0);
        photo_image_free(job.photo);
        job.photo = NULL;
        if (r)
            break;
    }

    {
        const char *params[1] = {l->id};
        db_command(l->conn, "stop line",
                   "UPDATE line SET state = 'stopped', controller = NULL WHERE id = $1 AND state = 'running'",
                   1, params);
    }
    render_worker_stop(l);
    pthread_mutex_lock(&ctl->lock);
    ctl->lines_running--;
    pthread_cond_broadcast(&ctl->cond);
    pthread_mutex_unlock(&ctl->lock);
    return NULL;
}

int producer_rescue_expired(PGconn *conn, const char *actor)
{
    PGresult *res;
    const char *params[1] = {actor};
    int n = 0;

    if (begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    /* one rescuer at a time; the others skip this round */
    res = db_exec(conn, "SELECT pg_try_advisory_xact_lock(hashtext('cardline.rescue'))", 0, NULL);
    if (!db_ok(res) || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        rollback(conn);
        return 0;
    }
    PQclear(res);
    res = db_exec(
        conn,
        "WITH expired AS ("
        "  SELECT id, step, attempts FROM application "
        "  WHERE status = 'in_production' AND lease_until < clock_now() FOR UPDATE), "
        "spoiled AS ("
        "  UPDATE card c SET status = 'spoiled', finished_at = clock_now(), "
        "    spoil_reason = 'interrupted: controller lost during ' || coalesce(e.step, 'production') "
        "  FROM expired e WHERE c.application_id = e.id "
        "    AND c.status IN ('allocated', 'printing', 'encoding', 'ejecting') "
        "  RETURNING c.card_number, c.application_id, c.line_id), "
        "counted AS ("
        "  UPDATE line SET cards_spoiled = cards_spoiled + s.n "
        "  FROM (SELECT line_id, count(*) AS n FROM spoiled GROUP BY line_id) s WHERE line.id = s.line_id "
        "  RETURNING line.id), "
        "requeued AS ("
        "  UPDATE application a SET "
        "    status = CASE WHEN a.attempts >= m.max AND e.step IS DISTINCT FROM 'claimed' THEN 'held' "
        "                  ELSE 'pending' END, "
        "    held_reason = CASE WHEN a.attempts >= m.max AND e.step IS DISTINCT FROM 'claimed' THEN "
        "      'production interrupted ' || a.attempts || ' times; check the line before releasing' END, "
        "    held_since = CASE WHEN a.attempts >= m.max AND e.step IS DISTINCT FROM 'claimed' THEN clock_now() "
        "                 END, "
        "    attempts = a.attempts - CASE WHEN e.step = 'claimed' THEN 1 ELSE 0 END, "
        "    locked_by = NULL, lease_until = NULL, step = NULL, updated_at = clock_now() "
        "  FROM expired e, (SELECT value::integer AS max FROM setting WHERE key = 'max_attempts') m "
        "  WHERE a.id = e.id RETURNING a.id, a.status) "
        "INSERT INTO event (actor, kind, application_id, card_number, detail) "
        "SELECT $1, 'rescued', r.id, s.card_number, 'lease expired; application ' || r.status "
        "FROM requeued r LEFT JOIN spoiled s ON s.application_id = r.id "
        "RETURNING application_id",
        1, params);
    if (!db_ok(res)) {
        log_error("rescue", "rescue failed: %s", PQresultErrorMessage(res));
        PQclear(res);
        rollback(conn);
        return PRODUCER_ERROR_DB;
    }
    n = PQntuples(res);
    PQclear(res);
    if (commit(conn) < 0)
        return PRODUCER_ERROR_DB;
    if (n > 0) {
        log_warn("rescue", "returned %d application(s) with expired leases to the queue", n);
        store_work_notify(conn);
    }
    return n;
}

static int heartbeat(PGconn *conn, const struct controller *ctl, const struct line *lines, int n)
{
    char lease[16], ids[64 * 24] = "{";
    const char *params[3] = {ctl->id, lease, ids};
    size_t o = 1;

    snprintf(lease, sizeof(lease), "%d", ctl->cfg->lease_seconds);
    for (int i = 0; i < n; i++) {
        int64_t id = atomic_load(&lines[i].in_hand);
        if (id > 0)
            o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%" PRId64, o > 1 ? "," : "", id);
    }
    snprintf(ids + o, sizeof(ids) - o, "}");
    if (db_command(conn, "heartbeat",
                   "UPDATE application SET lease_until = clock_now() + make_interval(secs => $2::integer) "
                   "WHERE status = 'in_production' AND locked_by = $1 AND id = ANY ($3::bigint[])",
                   3, params) < 0)
        return PRODUCER_ERROR_DB;
    return db_command(conn, "heartbeat", "UPDATE line SET heartbeat_at = clock_now() WHERE controller = $1", 1,
                      params);
}

/* Take the line rows for this controller; a line another live controller runs is refused. */
/* A database session at start-up. The server may be restarting just then (a failover, an administrator), so a
 * controller waits for it a while, as its running lines would, instead of failing. open: also start the private
 * cluster and apply migrations. */
static PGconn *connect_patiently(const struct db_config *db, bool open)
{
    for (int tries = 0;; tries++) {
        PGconn *c = open ? producer_db_open(db) : producer_db_connect(db);
        if (c || tries >= STARTUP_DB_TRIES || atomic_load(&stop_requested))
            return c;
        log_warn("run", "database not reachable at start-up; trying again in 1 s");
        sleep(1);
    }
}

static int register_line(PGconn *conn, struct line *l)
{
    char lease[16];
    const char *params[5] = {l->id, l->ctl->id, printer_name(l->printer), lease, l->encoder_spec};
    int waited = 0, db_failures = 0;

    snprintf(lease, sizeof(lease), "%d", l->ctl->cfg->lease_seconds);
    for (;;) {
        PGresult *res;

        /* a session lost while starting (the server restarted, an administrator ended it) is reopened */
        if (PQstatus(conn) == CONNECTION_BAD) {
            PQreset(conn);
            if (PQstatus(conn) != CONNECTION_OK) {
                if (++db_failures > REGISTER_DB_TRIES || atomic_load(&stop_requested)) {
                    log_error(l->id, "cannot register the line: the database is unreachable: %s",
                              PQerrorMessage(conn));
                    return PRODUCER_ERROR_DB;
                }
                sleep(1);
                continue;
            }
        }
        res = db_exec(conn,
                                "INSERT INTO line (id, controller, printer, encoder, state, heartbeat_at) "
                                "VALUES ($1, $2, $3, $5, 'running', clock_now()) "
                                "ON CONFLICT (id) DO UPDATE SET controller = $2, printer = $3, encoder = $5, "
                                "  state = 'running', state_reason = NULL, heartbeat_at = clock_now() "
                                "WHERE line.state <> 'running' OR line.heartbeat_at IS NULL "
                                "   OR line.heartbeat_at < clock_now() - make_interval(secs => $4::integer) "
                                "RETURNING id",
                                5, params);
        bool ok = db_ok(res) && PQntuples(res) == 1;
        if (!db_ok(res)) {
            /* a failed statement says nothing about other controllers: retry, reconnecting when needed */
            log_warn(l->id, "register line: %s", PQresultErrorMessage(res));
            PQclear(res);
            if (++db_failures > REGISTER_DB_TRIES || atomic_load(&stop_requested)) {
                log_error(l->id, "cannot register the line: the database keeps failing");
                return PRODUCER_ERROR_DB;
            }
            sleep(1);
            continue;
        }
        PQclear(res);
        if (ok)
            return 0;
        if (waited++ >= l->ctl->cfg->lease_seconds * 2 || atomic_load(&stop_requested)) {
            log_error(l->id,
                      "line %s is run by another live controller; choose other line names (--line-prefix)",
                      l->id);
            return PRODUCER_ERROR_INVALID;
        }
        sleep(1); /* the other controller's heartbeat must go stale first */
    }
}

static int read_settings(PGconn *conn, struct controller *ctl)
{
    PGresult *res = db_exec(conn,
                            "SELECT (SELECT value FROM setting WHERE key = 'card_number_prefix'), "
                            "       (SELECT value FROM setting WHERE key = 'max_attempts'), "
                            "       (SELECT value FROM setting WHERE key = 'region_code')",
                            0, NULL);
    int r = PRODUCER_ERROR_DB;

    if (db_ok(res) && PQntuples(res) == 1) {
        snprintf(ctl->card_prefix, sizeof(ctl->card_prefix), "%s", PQgetvalue(res, 0, 0));
        ctl->max_attempts = atoi(PQgetvalue(res, 0, 1));
        snprintf(ctl->region, sizeof(ctl->region), "%s", PQgetvalue(res, 0, 2));
        r = 0;
    }
    PQclear(res);
    return r;
}

static void line_free(struct line *l)
{
    printer_close(l->printer);
    encoder_transport_close(l->encoder);
    PQfinish(l->conn);
}

/* Everything a controller holds for its lines: identity, settings, layout, photo rules, keys. On failure the
 * cause is logged and controller_done() releases what was set up. */
static int controller_init(struct controller *ctl, PGconn *conn, const struct db_config *db,
                           const struct producer_run_config *cfg)
{
    char host[64] = "host", why[256] = "";
    const char *profile = cfg->config && cfg->config->photo_profile[0] ? cfg->config->photo_profile : "ssc";
    const char *keys =
        cfg->config && cfg->config->key_service[0] ? cfg->config->key_service : cfg->key_service;
    uint32_t nonce = 0;
    int r;

    memset(ctl, 0, sizeof(*ctl));
    ctl->db = db;
    ctl->cfg = cfg;
    pthread_mutex_init(&ctl->lock, NULL);
    pthread_cond_init(&ctl->cond, NULL);
    gethostname(host, sizeof(host) - 1);
    if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce) ||
        getrandom(ctl->master_key, sizeof(ctl->master_key), 0) != sizeof(ctl->master_key)) {
        log_error("run", "no randomness available");
        return PRODUCER_ERROR_IO;
    }
    snprintf(ctl->id, sizeof(ctl->id), "%s:%ld:%08x", host, (long)getpid(), nonce);
    snprintf(ctl->faces_dir, sizeof(ctl->faces_dir), "%s/faces", db->data_dir);
    if (mkdir(ctl->faces_dir, 0700) < 0 && errno != EEXIST) {
        log_error("run", "cannot create %s: %s", ctl->faces_dir, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    if (read_settings(conn, ctl) < 0)
        return PRODUCER_ERROR_DB;
    if (printer_layout_load(NULL, &ctl->layout, why, sizeof(why)) < 0) {
        log_error("run", "%s", why);
        return PRODUCER_ERROR_INPUT;
    }
    r = photo_checker_new(NULL, &ctl->photo_checker);
    if (r < 0) {
        log_error("run", "photo checker: %s", photo_strerror(r));
        return r;
    }
    /* a built-in profile by name, or a bureau's profile file */
    if (photo_profile_builtin(profile))
        ctl->photo_profile = *photo_profile_builtin(profile);
    else if (photo_profile_load(profile, &ctl->photo_profile, why, sizeof(why)) < 0) {
        log_error("run", "photo profile: %s", why);
        return PRODUCER_ERROR_INPUT;
    }
    /* the issuer's keys: a PSAM or key file when configured; otherwise a key made for this run, which only
     * the simulated cards of this run know */
    r = keys && *keys ? encoder_key_service_open_spec(keys, &ctl->keys)
                      : encoder_key_service_soft_new(ctl->master_key, &ctl->keys);
    if (r < 0) {
        log_error("run", "cannot open the key service '%s': %s", keys ? keys : "per-run",
                  encoder_strerror(r));
        return r;
    }
    if (cfg->config) {
        for (int i = 0; i < cfg->config->natr; i++) {
            size_t o = strlen(ctl->atr_allow);
            snprintf(ctl->atr_allow + o, sizeof(ctl->atr_allow) - o, "%s%s", o ? "," : "",
                     cfg->config->atr_allow[i]);
        }
    }
    return 0;
}

static void controller_done(struct controller *ctl)
{
    explicit_bzero(ctl->master_key, sizeof(ctl->master_key));
    encoder_key_service_free(ctl->keys);
    photo_checker_free(ctl->photo_checker);
    printer_layout_free(ctl->layout);
    pthread_mutex_destroy(&ctl->lock);
    pthread_cond_destroy(&ctl->cond);
}

int producer_run(const struct db_config *db, const struct producer_run_config *cfg)
{
    int nlines = cfg->config ? cfg->config->nlines : cfg->lines;
    struct controller ctl;
    struct line *lines = NULL;
    pthread_t *threads = NULL;
    PGconn *conn;
    int started = 0, r = 0, total_good = 0, total_spoiled = 0, total_held = 0;
    int64_t busy_ns = 0, working_ns = 0;
    struct rusage ru;
    struct sigaction sa = {.sa_handler = on_signal};

    if (nlines < 1 || nlines > 64 || cfg->lease_seconds < 2) {
        log_error("run", "--lines must be 1..64 and --lease-seconds at least 2");
        return PRODUCER_ERROR_INVALID;
    }
    conn = connect_patiently(db, true);
    if (!conn)
        return PRODUCER_ERROR_DB;

    for (int tries = 0;; tries++) {
        r = controller_init(&ctl, conn, db, cfg);
        if (r != PRODUCER_ERROR_DB || tries >= STARTUP_DB_TRIES)
            break;
        /* the database went away while we read the settings: wait for it, as the lines would */
        controller_done(&ctl);
        log_warn("run", "database not answering at start-up; trying again in 1 s");
        sleep(1);
        if (PQstatus(conn) == CONNECTION_BAD)
            PQreset(conn);
    }
    if (r < 0) {
        controller_done(&ctl);
        PQfinish(conn);
        return r;
    }
    atomic_store(&stop_requested, false);
    atomic_store(&cards_done, 0);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    lines = calloc((size_t)nlines, sizeof(*lines));
    threads = calloc((size_t)nlines, sizeof(*threads));
    if (!lines || !threads) {
        r = PRODUCER_ERROR_NOMEM;
        goto out;
    }
    producer_rescue_expired(conn, ctl.id);
    for (int i = 0; i < nlines; i++) {
        struct line *l = &lines[i];
        struct printer_sim_config pc = {.output_dir = cfg->no_faces ? NULL : ctl.faces_dir,
                                        .card_ms = cfg->card_ms,
                                        .fault_permille = cfg->print_fault_permille,
                                        .seed = cfg->seed * 7919u + (unsigned)i};
        struct encoder_sim_config ec = {.fault_permille = cfg->chip_fault_permille,
                                        .seed = cfg->seed * 104729u + (unsigned)i,
                                        .card_ms = cfg->card_ms};

        memcpy(ec.master_key, ctl.master_key, sizeof(ec.master_key));
        l->ctl = &ctl;
        l->index = i;
        if (cfg->config) {
            const struct producer_line_config *lc = &cfg->config->lines[i];
            snprintf(l->id, sizeof(l->id), "%s", lc->id);
            l->printer_spec = lc->printer;
            l->encoder_spec = lc->encoder;
            l->counter = lc->counter;
        } else {
            snprintf(l->id, sizeof(l->id), "%s%d", cfg->line_prefix ? cfg->line_prefix : "L", i + 1);
            l->printer_spec = cfg->printer_spec ? cfg->printer_spec : "sim";
            l->encoder_spec = cfg->encoder_spec ? cfg->encoder_spec : "sim";
        }
        l->conn = connect_patiently(db, false);
        producer_claimer_init(&l->claimer, l->conn, ctl.id, cfg->lease_seconds);
        l->claimer.counter = l->counter;
        if (!l->conn) {
            r = PRODUCER_ERROR_DB;
            goto out;
        }
        r = printer_open_spec(l->printer_spec, &pc, &l->printer);
        if (r < 0) {
            log_error("run", "line %s: cannot open printer '%s': %s", l->id, l->printer_spec,
                      printer_strerror(r));
            goto out;
        }
        r = encoder_open_spec(l->encoder_spec, &ec, &l->encoder);
        if (r < 0) {
            log_error("run", "line %s: cannot open chip encoder '%s': %s", l->id, l->encoder_spec,
                      encoder_strerror(r));
            goto out;
        }
        if (ctl.atr_allow[0] && strcmp(l->encoder_spec, "sim") != 0) {
            char why[192] = "";
            r = encoder_transport_set_atr_allowlist(l->encoder, ctl.atr_allow, why, sizeof(why));
            if (r < 0) {
                log_error("run", "line %s: ATR allow-list: %s", l->id, why);
                goto out;
            }
        }
        r = register_line(conn, l);
        if (r < 0)
            goto out;
    }

    log_info("run", "controller %s starting %d line(s)", ctl.id, nlines);
    for (int i = 0; i < nlines; i++) {
        pthread_mutex_lock(&ctl.lock);
        ctl.lines_running++;
        pthread_mutex_unlock(&ctl.lock);
        if (pthread_create(&threads[i], NULL, line_main, &lines[i]) != 0) {
            pthread_mutex_lock(&ctl.lock);
            ctl.lines_running--;
            pthread_mutex_unlock(&ctl.lock);
            atomic_store(&stop_requested, true);
            r = PRODUCER_ERROR_IO;
            break;
        }
        started++;
    }

    /* the main thread keeps the leases alive and rescues abandoned work until every line has stopped */
    pthread_mutex_lock(&ctl.lock);
    while (ctl.lines_running > 0) {
        struct timespec until;
        int interval_ms = cfg->lease_seconds * 1000 / 3;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += interval_ms / 1000;
        until.tv_nsec += (long)(interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ctl.cond, &ctl.lock, &until);
        if (ctl.lines_running == 0)
            break;
        pthread_mutex_unlock(&ctl.lock);
        if (PQstatus(conn) == CONNECTION_BAD)
            PQreset(conn);
        if (heartbeat(conn, &ctl, lines, nlines) < 0 && PQstatus(conn) == CONNECTION_BAD)
            log_warn("run", "heartbeat failed: database unreachable; leases may run out");
        producer_rescue_expired(conn, ctl.id);
        pthread_mutex_lock(&ctl.lock);
    }
    pthread_mutex_unlock(&ctl.lock);

out:
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (lines) {
        for (int i = 0; i < nlines; i++) {
            total_good += lines[i].good;
            total_spoiled += lines[i].spoiled;
            total_held += lines[i].held;
            busy_ns += lines[i].busy_ns;
            working_ns += lines[i].last_work_ns - lines[i].first_work_ns;
            line_free(&lines[i]);
        }
    }
    free(lines);
    free(threads);
    log_info("run", "controller %s stopped: %d good, %d spoiled, %d held", ctl.id, total_good, total_spoiled,
             total_held);
    getrusage(RUSAGE_SELF, &ru);
    if (total_good + total_spoiled > 0 && working_ns > 0)
        log_info(
            "run",
            "line utilisation %.1f%% (time in device operations over the time each line had work); controller "
            "CPU %.2f ms per card",
            100.0 * (double)busy_ns / (double)working_ns,
            ((double)ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + (double)ru.ru_stime.tv_sec * 1e3 +
             ru.ru_stime.tv_usec / 1e3) /
                (total_good + total_spoiled));
    PQfinish(conn);
    controller_done(&ctl);
    return r;
}
