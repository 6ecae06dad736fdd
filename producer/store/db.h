/* db.h — where the database is (an existing server or cardline's own private cluster), connections,
 * migrations */
#pragma once

#include <libpq-fe.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Error codes: negative, producer's own range -1400..-1499 (printer -1100.., photo -1200.., encoder -1300..);
 * its parts take sub-ranges (dispatch_error -1420.., account_error -1430..). producer_strerror() names a code
 * of any range, so a library code passed up through producer is never misread. */
#define PRODUCER_ERROR_RANGE_MAX (-1400)
#define PRODUCER_ERROR_RANGE_MIN (-1499)
enum producer_error {
    PRODUCER_ERROR_INVALID = -1401,
    PRODUCER_ERROR_NOMEM = -1402,
    PRODUCER_ERROR_IO = -1403,
    PRODUCER_ERROR_DB = -1404,      /* the database refused or went away */
    PRODUCER_ERROR_CLUSTER = -1405, /* the private PostgreSQL could not be created or started */
    PRODUCER_ERROR_SCHEMA = -1406,  /* schema newer than this program, or a migration failed */
    PRODUCER_ERROR_INPUT = -1407,   /* bad input file or argument */
    PRODUCER_ERROR_NOT_FOUND = -1408,
    PRODUCER_ERROR_REFUSED = -1409, /* a rule of the schema refused the change (SQLSTATE class 23) */
};

const char *producer_strerror(int err);

struct db_config {
    char data_dir[PATH_MAX];    /* faces, shipments and (embedded) the cluster live here */
    bool embedded;              /* true: cardline runs its own PostgreSQL */
    char cluster_dir[PATH_MAX]; /* embedded: base directory holding data/, server.log */
    char socket_dir[PATH_MAX];  /* embedded: unix socket directory */
    char conninfo[1024];        /* libpq conninfo; "" = libpq's PG* environment */
};

/* Decide where the database is: --db / PG* environment means an existing server; otherwise the private
 * cluster in the data directory (--data-dir, CARDLINE_DATA_DIR, $XDG_DATA_HOME/cardline,
 * ~/.local/share/cardline). */
int producer_db_resolve(const char *data_dir_opt, const char *db_opt, struct db_config *ret);

/* Embedded only: create the cluster when missing and start it when not running (serialised by a lock file, so
 * several cardline processes may call it at once). No-op for an external server. */
int producer_db_start(const struct db_config *cfg);
int producer_db_stop(const struct db_config *cfg);
/* Embedded only: stop the private cluster and delete it with all its data. */
int producer_db_destroy(const struct db_config *cfg);
/* 1 running, 0 not running, negative on error. */
int producer_db_running(const struct db_config *cfg);

/* Connect (starting the embedded cluster when needed) and bring the schema up to date. Returns NULL after
 * logging the cause. */
PGconn *producer_db_open(const struct db_config *cfg);
/* Connect only; no start, no migration. cfg->conninfo may name several hosts ("host=a,b port=5432,5433
 * target_session_attrs=read-write" or postgresql://a:5432,b:5433/db?target_session_attrs=read-write): libpq
 * tries them in order, and every reconnection (PQreset) tries them again, so after a failover a session lands
 * on whichever host is the primary now. */
PGconn *producer_db_connect(const struct db_config *cfg);

/* Apply pending migrations, each in its own transaction under an advisory lock. *ret_applied (may be NULL)
 * counts what was applied. */
int producer_db_migrate(PGconn *conn, int *ret_applied);

/* The store's own helpers (only store/ calls them): every statement has parameters; none builds SQL from
 * data. */
PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params);
/* Runs a command expecting no rows; 0 or PRODUCER_ERROR_DB (logged with ctx). */
int db_command(PGconn *conn, const char *ctx, const char *sql, int nparams, const char *const *params);
bool db_ok(const PGresult *res);
/* For store/ files: run one statement and return its result, or NULL after logging the failure at debug level
 * only (what says which statement), because the caller reports it once with context. */
PGresult *store_query(PGconn *conn, const char *what, const char *sql, int nparams,
                      const char *const *params);
/* The one number a statement answers (a count, a sum, a YYYYMMDD) in its only row's first column, as
 * store_query() reports failures; a statement answering no row or several is a failure too. */
int store_query_number(PGconn *conn, const char *what, const char *sql, int nparams,
                       const char *const *params, long long *ret);
/* Whether a query answered a row: 1 (the result kept in *ret_res for the caller to read and PQclear), 0 when
 * it answered none, or PRODUCER_ERROR_DB (reported as store_query() does). */
int store_query_row(PGconn *conn, const char *what, const char *sql, int nparams, const char *const *params,
                    PGresult **ret_res);
/* The rows a statement without an answer changed (INSERT/UPDATE/DELETE), failures reported as store_query()
 * does: the count, or PRODUCER_ERROR_DB. */
int store_command_count(PGconn *conn, const char *what, const char *sql, int nparams,
                        const char *const *params);
/* SQLSTATE of a failed result, or "" */
const char *db_sqlstate(const PGresult *res);
/* Connect to the configured server, to database dbname instead of the configured one when not NULL. Never
 * logs: the caller checks PQstatus() and reports (PQfinish() it either way). */
PGconn *db_connect_to(const struct db_config *cfg, const char *dbname);
/* The directory of PostgreSQL's programs the private cluster uses (CARDLINE_PG_BINDIR, or the newest
 * /usr/lib/postgresql/N/bin); 0 or PRODUCER_ERROR_CLUSTER. */
int db_pg_bindir(char *out, size_t size);
/* Run one of PostgreSQL's client programs (absolute argv[0]) as ourselves, owner-only umask, stdin from
 * /dev/null, stdout and stderr appended to log_path (made 0600); password (may be NULL) is handed over as
 * PGPASSWORD so that it never shows in a process list. Returns its exit status or a negative error. */
int db_run_client(char *const argv[], const char *log_path, const char *password);
/* Append key='value' to a conninfo string, quoted as libpq wants; 0 or -ENAMETOOLONG. */
int db_conninfo_append(char *buf, size_t size, const char *key, const char *value);
