/* bench_queue.c — claims per second through cardline's claim-and-complete path against a minimal FOR UPDATE
 * SKIP LOCKED loop over the same table in the same run, and claim latency with 10k and with 1M queued
 * applications */
#include "store/db.h"
#include "producer.h"
#include "schedule/schedule.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void must(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench-queue: %s\n%s", sql, PQresultErrorMessage(res));
        exit(1);
    }
    PQclear(res);
}

/* Queue n synthetic pending applications quickly, one person each: the deadline trigger is bypassed and
 * latest completions are spread over the next 30 days, as the trigger would have spread them. */
static void fill(PGconn *conn, long n)
{
    char sql[1024];

    must(conn, "TRUNCATE application CASCADE");
    must(conn, "ALTER TABLE application DISABLE TRIGGER application_deadline");
    snprintf(
        sql, sizeof(sql),
        "INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn, name, sex, ethnicity, "
        "  birth_date, birth_place, outlet_code, accepted_at, priority, deadline, latest_completion) "
        "SELECT 'B' || g, 'new', 'resident_id', lpad(g::text, 18, '0'), lpad(g::text, 18, '0'), 'x', '1', 1, "
        "  '1949-12-31', '110105', 'HR0101', now(), 5, current_date + 40, "
        "  now() + (g %% 43200) * interval '1 minute' FROM generate_series(1, %ld) g",
        n);
    must(conn, sql);
    must(conn, "ALTER TABLE application ENABLE TRIGGER application_deadline");
    must(conn, "VACUUM ANALYZE application");
}

/* cardline's path: store_queue_claim (lease) then the completion the line writes when a card is good */
static double run_cardline(PGconn *conn, int k, double *lat)
{
    struct producer_claim c;
    struct producer_claimer claimer;
    double t0 = now_ms();

    store_queue_claimer_init(&claimer, conn, "bench", 30);
    for (int i = 0; i < k; i++) {
        double s = now_ms();
        const char *params[2] = {NULL, "bench"};
        if (store_queue_claim(&claimer, &c) != 1) {
            fprintf(stderr, "bench-queue: queue ran dry\n");
            exit(1);
        }
        lat[i] = now_ms() - s;
        params[0] = c.id_text;
        PQclear(db_exec(conn,
                        "UPDATE application SET status = 'produced', produced_at = now(), locked_by = NULL, "
                        "  lease_until = NULL, step = NULL WHERE id = $1 AND locked_by = $2",
                        2, params));
    }
    return now_ms() - t0;
}

/* the minimal loop: one transaction that picks the next row with SKIP LOCKED and marks it done */
static double run_minimal(PGconn *conn, int k)
{
    double t0 = now_ms();

    for (int i = 0; i < k; i++) {
        PGresult *res;
        const char *params[1];
        must(conn, "BEGIN");
        res = PQexec(conn, "SELECT id FROM application WHERE status = 'pending' "
                           "ORDER BY priority, latest_completion, id FOR UPDATE SKIP LOCKED LIMIT 1");
        if (PQntuples(res) != 1) {
            fprintf(stderr, "bench-queue: queue ran dry\n");
            exit(1);
        }
        params[0] = PQgetvalue(res, 0, 0);
        PQclear(PQexecParams(conn,
                             "UPDATE application SET status = 'produced', produced_at = now() WHERE id = $1",
                             1, NULL, params, NULL, NULL, 0));
        PQclear(res);
        must(conn, "COMMIT");
    }
    return now_ms() - t0;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    const char *conninfo = argc > 1 ? argv[1] : "";
    long big = argc > 2 ? atol(argv[2]) : 1000000;
    int k = 2000;
    double *lat = calloc((size_t)k, sizeof(double)), ms_cardline, ms_minimal, med_small, med_big, risk_ms;
    int risk_late;
    PGconn *conn = PQconnectdb(conninfo);

    if (PQstatus(conn) != CONNECTION_OK || !lat) {
        fprintf(stderr, "bench-queue: %s", PQerrorMessage(conn));
        return 1;
    }
    must(conn, "INSERT INTO outlet (code, name, kind, county) VALUES ('HR0101', 'bench', 'hrss', 'x') "
               "ON CONFLICT DO NOTHING");

    /* both loops over the same 10k queue, the minimal one first so that neither gets a warmer table */
    fill(conn, 10000);
    ms_minimal = run_minimal(conn, k);
    fill(conn, 10000);
    ms_cardline = run_cardline(conn, k, lat);
    med_small = median(lat, k);

    fill(conn, big);
    run_cardline(conn, k, lat);
    med_big = median(lat, k);
    {
        /* the morning at-risk forecast over the whole open queue */
        double t0 = now_ms();
        int late = producer_risk_count(conn);
        risk_ms = now_ms() - t0;
        risk_late = late;
    }

    printf("bench-queue: %d claims per loop, single connection\n", k);
    printf("  minimal SKIP LOCKED loop   %8.0f claims/s\n", k / (ms_minimal / 1e3));
    printf("  cardline claim + complete  %8.0f claims/s\n", k / (ms_cardline / 1e3));
    printf("  ratio cardline/minimal     %8.2f  (target >= 0.8)\n", ms_minimal / ms_cardline);
    printf("  claim latency median       %8.3f ms with 10k queued, %.3f ms with %ld queued: ratio %.2f "
           "(target <= 1.5)\n",
           med_small, med_big, big, med_big / med_small);
    printf("  at-risk forecast over %ld open applications: %.0f ms (%d predicted late)\n", big - k, risk_ms,
           risk_late);
    free(lat);
    PQfinish(conn);
    return 0;
}
