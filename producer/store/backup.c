/* backup.c — `cardline db backup` / `db restore`: pg_dump of one exported snapshot with a manifest written
 * last, and a restore that checks the manifest, never mixes a backup into a database in use, and proves the
 * counts */
#include "store/backup.h"

#include "base/fileio.h"
#include "base/log.h"
#include "store/migrations.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_NAME "manifest"
#define DUMP_NAME     "dump"
#define MANIFEST_MAX  4096
#define CONNINFO_MAX  2048

/* What a manifest records about the snapshot. Read in the statement that exports the snapshot (repeatable
 * read: one snapshot per transaction), so the counts are exactly what pg_dump writes. */
#define SNAPSHOT_FACTS                                                                                       \
    "current_database(), (SELECT coalesce(max(version), 0) FROM schema_migration), "                         \
    "to_char(bureau_time(clock_now()), 'YYYY-MM-DD HH24:MI:SS'), "                                           \
    "coalesce((SELECT value FROM setting WHERE key = 'bureau_timezone'), ''), "                              \
    "(SELECT count(*) FROM application), (SELECT count(*) FROM card), (SELECT count(*) FROM shipment), "     \
    "(SELECT count(*) FROM stock_move)"

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Fill m's facts from res's columns first.. (the order of SNAPSHOT_FACTS). */
static void facts_of(const PGresult *res, int first, struct producer_backup_manifest *m)
{
    copy_str(m->database, sizeof(m->database), PQgetvalue(res, 0, first));
    m->schema_version = atoi(PQgetvalue(res, 0, first + 1));
    copy_str(m->taken_at, sizeof(m->taken_at), PQgetvalue(res, 0, first + 2));
    copy_str(m->time_zone, sizeof(m->time_zone), PQgetvalue(res, 0, first + 3));
    m->applications = atoll(PQgetvalue(res, 0, first + 4));
    m->cards = atoll(PQgetvalue(res, 0, first + 5));
    m->shipments = atoll(PQgetvalue(res, 0, first + 6));
    m->stock_moves = atoll(PQgetvalue(res, 0, first + 7));
}

static bool looks_like_conninfo(const char *s)
{
    return strchr(s, '=') || strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/* The conninfo handed to pg_dump/pg_restore: what cfg names (every host of a multi-host conninfo, the session
 * attributes), for database dbname, and without the password, which is returned apart for PGPASSWORD: argv is
 * visible to every user of the machine. */
static int client_conninfo(const struct db_config *cfg, const char *dbname, const char *program, char *out,
                           size_t size, char *ret_password, size_t password_size)
{
    out[0] = ret_password[0] = '\0';
    if (looks_like_conninfo(cfg->conninfo)) {
        PQconninfoOption *opts = PQconninfoParse(cfg->conninfo, NULL);

        if (!opts) {
            log_error("db", "the connection string cannot be parsed");
            return PRODUCER_ERROR_INPUT;
        }
        for (const PQconninfoOption *o = opts; o->keyword; o++) {
            if (!o->val || !*o->val || strcmp(o->keyword, "dbname") == 0)
                continue;
            if (strcmp(o->keyword, "password") == 0) {
                copy_str(ret_password, password_size, o->val);
                continue;
            }
            if (db_conninfo_append(out, size, o->keyword, o->val) < 0) {
                PQconninfoFree(opts);
                log_error("db", "the connection string is too long");
                return PRODUCER_ERROR_INPUT;
            }
        }
        PQconninfoFree(opts);
    }
    if (db_conninfo_append(out, size, "dbname", dbname) < 0 ||
        db_conninfo_append(out, size, "fallback_application_name", program) < 0) {
        log_error("db", "the connection string is too long");
        return PRODUCER_ERROR_INPUT;
    }
    return 0;
}

static int client_program(const char *name, char *out, size_t size)
{
    char bindir[PATH_MAX];

    if (db_pg_bindir(bindir, sizeof(bindir)) < 0) {
        log_error(
            "db",
            "PostgreSQL programs not found under /usr/lib/postgresql (install the 'postgresql' package, "
            "or set CARDLINE_PG_BINDIR)");
        return PRODUCER_ERROR_CLUSTER;
    }
    if ((size_t)snprintf(out, size, "%s/%s", bindir, name) >= size || access(out, X_OK) != 0) {
        log_error("db", "%s not found in %s (CARDLINE_PG_BINDIR names another directory)", name, bindir);
        return PRODUCER_ERROR_CLUSTER;
    }
    return 0;
}

/* The last lines pg_dump wrote: its messages name connections, versions and tables, never rows. */
static void log_last_lines(const char *path, int lines)
{
    char *text = NULL;
    size_t len = 0;
    const char *p;
    int seen = 0;

    if (producer_read_file(path, 1 << 20, &text, &len) < 0)
        return;
    p = text + len;
    while (p > text && seen <= lines) {
        p--;
        if (*p == '\n' && p + 1 < text + len)
            seen++;
    }
    if (*p == '\n')
        p++;
    for (const char *line = p; *line;) {
        size_t n = strcspn(line, "\n");
        if (n)
            log_error("db", "  %.*s", (int)n, line);
        line += n + (line[n] == '\n');
    }
    free(text);
}

/* --- the manifest --------------------------------------------------------------------------------------- */

static bool printable(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

/* Written to a temporary file, flushed, renamed over, and the directory flushed: a manifest is either absent
 * or whole, and only ever present next to a finished dump. */
static int manifest_write(const char *dir, const struct producer_backup_manifest *m)
{
    char tmp[PATH_MAX + 32], path[PATH_MAX + 32], buf[MANIFEST_MAX];
    int n, fd, dfd;

    if (!printable(m->cardline_version) || !printable(m->database) || !printable(m->taken_at) ||
        !printable(m->time_zone)) {
        log_error("db", "the database's name or the bureau's time zone cannot be written to a manifest");
        return PRODUCER_ERROR_INPUT;
    }
    n = snprintf(buf, sizeof(buf),
                 "# cardline backup manifest, written when the dump in " DUMP_NAME "/ had finished.\n"
                 "# Restore with: cardline db restore DIR (into a new or empty database).\n"
                 "format=%d\n"
                 "cardline_version=%s\n"
                 "schema_version=%d\n"
                 "taken_at=%s\n"
                 "time_zone=%s\n"
                 "database=%s\n"
                 "applications=%lld\n"
                 "cards=%lld\n"
                 "shipments=%lld\n"
                 "stock_moves=%lld\n",
                 m->format, m->cardline_version, m->schema_version, m->taken_at, m->time_zone, m->database,
                 m->applications, m->cards, m->shipments, m->stock_moves);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return PRODUCER_ERROR_INPUT;
    snprintf(tmp, sizeof(tmp), "%s/." MANIFEST_NAME ".tmp", dir);
    snprintf(path, sizeof(path), "%s/" MANIFEST_NAME, dir);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, buf, (size_t)n) != n || fsync(fd) < 0 || close(fd) < 0) {
        log_error("db", "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return PRODUCER_ERROR_IO;
    }
    if (rename(tmp, path) < 0) {
        log_error("db", "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return PRODUCER_ERROR_IO;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        log_error("db", "cannot flush %s: %s", dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return PRODUCER_ERROR_IO;
    }
    close(dfd);
    return 0;
}

static bool parse_count(const char *s, long long *ret)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < 0)
        return false;
    *ret = v;
    return true;
}

int producer_backup_manifest_read(const char *dir, struct producer_backup_manifest *ret)
{
    enum { F_FORMAT = 1, F_VERSION = 2, F_SCHEMA = 4, F_TAKEN = 8, F_DB = 16, F_COUNTS = 32 };
    struct producer_backup_manifest m;
    char path[PATH_MAX + 32], *text = NULL, *save = NULL;
    long long v, counts = 0;
    size_t len = 0;
    unsigned seen = 0;
    int r;

    memset(&m, 0, sizeof(m));
    snprintf(path, sizeof(path), "%s/" MANIFEST_NAME, dir);
    r = producer_read_file(path, MANIFEST_MAX, &text, &len);
    if (r == -ENOENT)
        return PRODUCER_ERROR_NOT_FOUND;
    if (r < 0)
        return PRODUCER_ERROR_INPUT;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        const char *key = line, *val;
        bool ok = true;

        if (line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        val = eq + 1;
        if (strcmp(key, "format") == 0) {
            ok = parse_count(val, &v) && v == PRODUCER_BACKUP_FORMAT;
            m.format = (int)v;
            seen |= F_FORMAT;
        } else if (strcmp(key, "cardline_version") == 0) {
            copy_str(m.cardline_version, sizeof(m.cardline_version), val);
            seen |= F_VERSION;
        } else if (strcmp(key, "schema_version") == 0) {
            ok = parse_count(val, &v) && v > 0 && v < 100000;
            m.schema_version = (int)v;
            seen |= F_SCHEMA;
        } else if (strcmp(key, "taken_at") == 0) {
            copy_str(m.taken_at, sizeof(m.taken_at), val);
            seen |= F_TAKEN;
        } else if (strcmp(key, "time_zone") == 0) {
            copy_str(m.time_zone, sizeof(m.time_zone), val);
        } else if (strcmp(key, "database") == 0) {
            copy_str(m.database, sizeof(m.database), val);
            seen |= F_DB;
        } else if (strcmp(key, "applications") == 0) {
            ok = parse_count(val, &m.applications);
            counts |= 1;
        } else if (strcmp(key, "cards") == 0) {
            ok = parse_count(val, &m.cards);
            counts |= 2;
        } else if (strcmp(key, "shipments") == 0) {
            ok = parse_count(val, &m.shipments);
            counts |= 4;
        } else if (strcmp(key, "stock_moves") == 0) {
            ok = parse_count(val, &m.stock_moves);
            counts |= 8;
        }
        /* other keys: written by a later cardline of the same format, which only ever adds some */
        if (!ok) {
            free(text);
            return PRODUCER_ERROR_INPUT;
        }
    }
    free(text);
    if (counts == 15)
        seen |= F_COUNTS;
    if (seen != (F_FORMAT | F_VERSION | F_SCHEMA | F_TAKEN | F_DB | F_COUNTS))
        return PRODUCER_ERROR_INPUT;
    *ret = m;
    return 0;
}

/* --- backup --------------------------------------------------------------------------------------------- */

/* dir, made owner-only: a new directory, or an empty one of ours. An existing backup is never written over.
 */
static int backup_dir(const char *dir, char *real, size_t real_size)
{
    struct stat st;
    DIR *d;
    const struct dirent *de;
    int r;

    if (mkdir(dir, 0700) < 0) {
        if (errno != EEXIST) {
            log_error("db", "cannot create the backup directory %s: %s", dir, strerror(errno));
            return PRODUCER_ERROR_IO;
        }
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
            log_error("db", "%s is not a directory of ours", dir);
            return PRODUCER_ERROR_INPUT;
        }
        d = opendir(dir);
        if (!d) {
            log_error("db", "cannot read %s: %s", dir, strerror(errno));
            return PRODUCER_ERROR_IO;
        }
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                break;
        }
        closedir(d);
        if (de) {
            log_error("db", "%s is not empty; a backup goes into a new or empty directory", dir);
            return PRODUCER_ERROR_INPUT;
        }
    }
    r = producer_private_dir(dir);
    if (r < 0) {
        log_error("db", "cannot make %s owner-only: %s", dir, strerror(-r));
        return PRODUCER_ERROR_IO;
    }
    if (!realpath(dir, real) || strlen(real) + 32 > real_size) {
        log_error("db", "cannot resolve %s", dir);
        return PRODUCER_ERROR_IO;
    }
    return 0;
}

int producer_db_backup(const struct db_config *cfg, const char *dir,
                       const struct producer_backup_options *opt, struct producer_backup_manifest *ret)
{
    char real[PATH_MAX], dump[PATH_MAX + 16], log_path[PATH_MAX + 16], prog[PATH_MAX + 16], jobs[16],
        snapshot[128], conninfo[CONNINFO_MAX], password[256];
    struct producer_backup_manifest m;
    PGconn *conn = NULL;
    PGresult *res;
    struct stat st;
    int r;

    memset(&m, 0, sizeof(m));
    if (opt->jobs < 1 || opt->jobs > PRODUCER_BACKUP_JOBS_MAX)
        return PRODUCER_ERROR_INVALID;
    r = client_program("pg_dump", prog, sizeof(prog));
    if (r < 0)
        return r;
    r = backup_dir(dir, real, sizeof(real));
    if (r < 0)
        return r;
    snprintf(dump, sizeof(dump), "%s/" DUMP_NAME, real);
    snprintf(log_path, sizeof(log_path), "%s/pg_dump.log", real);
    snprintf(jobs, sizeof(jobs), "%d", opt->jobs);

    /* the schema is brought up to date first, as by every command: a backup is of this cardline's schema */
    conn = producer_db_open(cfg);
    if (!conn)
        return PRODUCER_ERROR_DB;
    if (db_command(conn, "begin the backup's snapshot", "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0,
                   NULL) < 0) {
        r = PRODUCER_ERROR_DB;
        goto out;
    }
    res = store_query(conn, "export snapshot", "SELECT pg_export_snapshot(), " SNAPSHOT_FACTS, 0, NULL);
    if (!res) {
        log_error("db", "cannot export a snapshot for the backup: %s", PQerrorMessage(conn));
        r = PRODUCER_ERROR_DB;
        goto out;
    }
    copy_str(snapshot, sizeof(snapshot), PQgetvalue(res, 0, 0));
    facts_of(res, 1, &m);
    PQclear(res);
    m.format = PRODUCER_BACKUP_FORMAT;
    copy_str(m.cardline_version, sizeof(m.cardline_version), opt->version);

    r = client_conninfo(cfg, m.database, "cardline-backup", conninfo, sizeof(conninfo), password,
                        sizeof(password));
    if (r < 0)
        goto out;
    log_info("db", "backing up database %s (schema %d) into %s", m.database, m.schema_version, real);
    {
        /* our transaction stays open while pg_dump runs: the snapshot it imports lives as long as that */
        char *argv[] = {prog, "--dbname",   conninfo, "--format=directory", "--jobs", jobs, "--file",
                        dump, "--snapshot", snapshot, "--no-password",      NULL};
        r = db_run_client(argv, log_path, password[0] ? password : NULL);
    }
    explicit_bzero(password, sizeof(password));
    if (r != 0) {
        log_error("db", "pg_dump failed (exit %d); its last messages (all in %s):", r, log_path);
        log_last_lines(log_path, 5);
        r = r < 0 ? r : PRODUCER_ERROR_IO;
        goto out;
    }
    PQclear(PQexec(conn, "ROLLBACK"));
    PQfinish(conn);
    conn = NULL;
    if (stat(log_path, &st) == 0 && st.st_size == 0)
        unlink(log_path);
    r = manifest_write(real, &m);
    if (r < 0)
        return r;
    log_info("db", "backup complete: %lld applications, %lld cards, %lld shipments at %s bureau time",
             m.applications, m.cards, m.shipments, m.taken_at);
    if (ret)
        *ret = m;
    return 0;

out:
    PQfinish(conn);
    return r;
}

/* --- restore -------------------------------------------------------------------------------------------- */

static int count_relations(PGconn *conn, long long *ret)
{
    return store_query_number(
        conn, "count relations",
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
        0, NULL, ret);
}

/* A session on the server's maintenance database, from which the target can be dropped and created. */
static PGconn *connect_admin(const struct db_config *cfg)
{
    PGconn *conn = db_connect_to(cfg, "postgres");

    if (PQstatus(conn) == CONNECTION_OK)
        return conn;
    PQfinish(conn);
    conn = db_connect_to(cfg, "template1");
    if (PQstatus(conn) == CONNECTION_OK)
        return conn;
    log_error("db", "cannot connect to the server's maintenance database: %s",
              conn ? PQerrorMessage(conn) : "out of memory");
    PQfinish(conn);
    return NULL;
}

/* head NAME tail, with NAME quoted as an identifier */
static int database_ddl(PGconn *admin, const char *what, const char *head, const char *name, const char *tail)
{
    char *ident = PQescapeIdentifier(admin, name, strlen(name));
    char sql[512];
    int r = 0;

    if (!ident)
        return PRODUCER_ERROR_NOMEM;
    if ((size_t)snprintf(sql, sizeof(sql), "%s%s%s", head, ident, tail) >= sizeof(sql)) {
        PQfreemem(ident);
        return PRODUCER_ERROR_INVALID;
    }
    PQfreemem(ident);
    {
        /* DDL takes no parameters: the name is quoted by libpq instead */
        PGresult *res = PQexec(admin, sql);
        if (!db_ok(res)) {
            log_error("db", "cannot %s database %s: %s", what, name, PQresultErrorMessage(res));
            r = PRODUCER_ERROR_DB;
        }
        PQclear(res);
    }
    return r;
}

/* Make the configured database the empty target of a restore; its name goes to name. */
static int restore_target(const struct db_config *cfg, bool replace, char *name, size_t size)
{
    PGconn *target = db_connect_to(cfg, NULL), *admin;
    char target_error[512] = "";
    const char *params[1] = {name};
    PGresult *res;
    bool exists = false;
    int r;

    /* libpq knows the name even when the connection failed: from the conninfo, a service file, PGDATABASE or
     * the user name */
    if (!target || !PQdb(target) || !*PQdb(target)) {
        PQfinish(target);
        log_error("db", "no database is named by the connection string");
        return PRODUCER_ERROR_INVALID;
    }
    copy_str(name, size, PQdb(target));
    if (PQstatus(target) == CONNECTION_OK) {
        long long rels = 0;

        r = count_relations(target, &rels);
        PQfinish(target);
        if (r < 0) {
            log_error("db", "cannot tell whether database %s is empty", name);
            return r;
        }
        if (rels == 0)
            return 0;
        if (!replace) {
            log_error(
                "db",
                "database %s is not empty (%lld tables, views and sequences); a backup is restored into a "
                "new or empty database: name another with --db, or add --replace to drop and recreate "
                "this one",
                name, rels);
            return PRODUCER_ERROR_REFUSED;
        }
        exists = true;
    } else {
        copy_str(target_error, sizeof(target_error), PQerrorMessage(target));
        PQfinish(target);
    }

    admin = connect_admin(cfg);
    if (!admin)
        return PRODUCER_ERROR_DB;
    if (!exists) {
        res =
            store_query(admin, "database exists", "SELECT 1 FROM pg_database WHERE datname = $1", 1, params);
        if (!res || PQntuples(res) > 0) {
            /* it is there, but we may not connect to it: the server's reason says why */
            log_error("db", "cannot connect to database %s: %s", name,
                      res ? target_error : PQerrorMessage(admin));
            PQclear(res);
            PQfinish(admin);
            return PRODUCER_ERROR_DB;
        }
        PQclear(res);
    } else {
        log_warn("db", "dropping database %s to replace it with the backup (--replace)", name);
        r = database_ddl(admin, "drop", "DROP DATABASE ", name, " WITH (FORCE)");
        if (r < 0) {
            PQfinish(admin);
            return r;
        }
    }
    r = database_ddl(admin, "create", "CREATE DATABASE ", name, " ENCODING 'UTF8' TEMPLATE template0");
    PQfinish(admin);
    return r;
}

static int read_facts(PGconn *conn, struct producer_backup_manifest *ret)
{
    PGresult *res = store_query(conn, "restored facts", "SELECT " SNAPSHOT_FACTS, 0, NULL);

    if (!res)
        return PRODUCER_ERROR_DB;
    facts_of(res, 0, ret);
    PQclear(res);
    return 0;
}

int producer_db_restore(const struct db_config *cfg, const char *dir,
                        const struct producer_backup_options *opt, struct producer_backup_manifest *ret,
                        int *ret_applied)
{
    char real[PATH_MAX], dump[PATH_MAX + 32], log_path[PATH_MAX + 32], prog[PATH_MAX + 16], jobs[16],
        name[256], conninfo[CONNINFO_MAX], password[256];
    int newest = producer_migrations[producer_migration_count - 1].version, applied = 0, r;
    struct producer_backup_manifest m, got;
    PGconn *conn;

    if (opt->jobs < 1 || opt->jobs > PRODUCER_BACKUP_JOBS_MAX)
        return PRODUCER_ERROR_INVALID;
    if (!realpath(dir, real)) {
        log_error("db", "cannot open the backup %s: %s", dir, strerror(errno));
        return PRODUCER_ERROR_INPUT;
    }
    r = producer_backup_manifest_read(real, &m);
    if (r == PRODUCER_ERROR_NOT_FOUND) {
        log_error("db", "%s has no manifest: it is not a cardline backup, or its backup did not finish",
                  real);
        return PRODUCER_ERROR_INPUT;
    }
    if (r < 0) {
        log_error("db", "%s/" MANIFEST_NAME " is damaged or of a format this cardline does not know", real);
        return PRODUCER_ERROR_INPUT;
    }
    if (m.schema_version > newest) {
        log_error(
            "db",
            "the backup's schema (version %d, taken by cardline %s) is newer than this cardline's (%d); "
            "restore it with that cardline or a newer one",
            m.schema_version, m.cardline_version, newest);
        return PRODUCER_ERROR_SCHEMA;
    }
    snprintf(dump, sizeof(dump), "%s/" DUMP_NAME "/toc.dat", real);
    if (access(dump, R_OK) != 0) {
        log_error("db", "%s: the dump is missing or unreadable", dump);
        return PRODUCER_ERROR_INPUT;
    }
    snprintf(dump, sizeof(dump), "%s/" DUMP_NAME, real);
    snprintf(jobs, sizeof(jobs), "%d", opt->jobs);
    r = client_program("pg_restore", prog, sizeof(prog));
    if (r < 0)
        return r;
    r = producer_db_start(cfg);
    if (r < 0)
        return r;
    r = restore_target(cfg, opt->replace, name, sizeof(name));
    if (r < 0)
        return r;
    r = client_conninfo(cfg, name, "cardline-restore", conninfo, sizeof(conninfo), password,
                        sizeof(password));
    if (r < 0)
        return r;

    /* pg_restore's messages may quote rows of the backup (a COPY that failed): they go to an owner-only file
     * in the data directory, never to our log */
    snprintf(log_path, sizeof(log_path), "%s/restore.log", cfg->data_dir);
    unlink(log_path);
    log_info("db", "restoring the backup of %s taken at %s (schema %d) into database %s", m.database,
             m.taken_at, m.schema_version, name);
    {
        /* --no-owner: the objects belong to whoever restores, so a backup of the private cluster restores on
         * a bureau's server and back */
        char *argv[] = {prog, "--dbname",   conninfo,          "--jobs",        jobs,
                        dump, "--no-owner", "--exit-on-error", "--no-password", NULL};
        r = db_run_client(argv, log_path, password[0] ? password : NULL);
    }
    explicit_bzero(password, sizeof(password));
    if (r != 0) {
        log_error("db",
                  "pg_restore failed (exit %d); its messages, which may quote the backup's rows, are in %s "
                  "(owner-only); database %s is incomplete: restore again with --replace",
                  r, log_path, name);
        return r < 0 ? r : PRODUCER_ERROR_DB;
    }

    conn = producer_db_connect(cfg);
    if (!conn)
        return PRODUCER_ERROR_DB;
    memset(&got, 0, sizeof(got));
    r = read_facts(conn, &got);
    if (r < 0) {
        log_error("db", "cannot read the restored database: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return r;
    }
    /* the counts were read in the snapshot pg_dump wrote: anything else means the restore lost rows */
    if (got.schema_version != m.schema_version || got.applications != m.applications ||
        got.cards != m.cards || got.shipments != m.shipments || got.stock_moves != m.stock_moves) {
        log_error(
            "db",
            "the restored database does not match the manifest: schema %d, %lld applications, %lld cards, "
            "%lld shipments, %lld stock moves where the backup has %d, %lld, %lld, %lld, %lld",
            got.schema_version, got.applications, got.cards, got.shipments, got.stock_moves, m.schema_version,
            m.applications, m.cards, m.shipments, m.stock_moves);
        PQfinish(conn);
        return PRODUCER_ERROR_SCHEMA;
    }
    r = producer_db_migrate(conn, &applied);
    /* pg_restore leaves the planner without statistics */
    if (r == 0 && db_command(conn, "analyze the restored database", "ANALYZE", 0, NULL) < 0)
        r = PRODUCER_ERROR_DB;
    PQfinish(conn);
    if (r < 0)
        return r;
    if (ret)
        *ret = m;
    if (ret_applied)
        *ret_applied = applied;
    return 0;
}
