/* backup.h — consistent backups of cardline's database with PostgreSQL's own tools, and restores that check
 * them */
#pragma once

#include "store/db.h"

#include <stdbool.h>

#define PRODUCER_BACKUP_FORMAT   1
#define PRODUCER_BACKUP_JOBS_MAX 16

/* What DIR/manifest says about a backup: written after the dump finished, read before anything is restored.
 * The counts were taken in the very snapshot the dump holds, so a restore can prove it got all of it. */
struct producer_backup_manifest {
    int format;                /* PRODUCER_BACKUP_FORMAT */
    char cardline_version[32]; /* the cardline that took it */
    int schema_version;        /* newest migration applied in the backed-up database */
    char taken_at[32];         /* bureau time (the business clock) of the snapshot, YYYY-MM-DD HH:MM:SS */
    char time_zone[64];        /* the bureau's time zone, as its setting names it */
    char database[128];        /* the backed-up database's name */
    long long applications;    /* rows at the snapshot */
    long long cards;
    long long shipments;
    long long stock_moves;
};

struct producer_backup_options {
    const char *version; /* this cardline's version, written to the manifest */
    int jobs;            /* parallel pg_dump/pg_restore workers, 1..PRODUCER_BACKUP_JOBS_MAX */
    bool replace;        /* restore: drop and recreate a target database that is not empty */
};

/* Back the configured database (private cluster or --db server) up into dir, which must be new or empty; it
 * is made owner-only. pg_dump (directory format, opt->jobs workers) dumps one snapshot exported by our own
 * transaction, in which the manifest's schema version, bureau time and counts are read too; the manifest is
 * written last and atomically, so a directory without it is an unfinished backup. Returns 0 and fills *ret
 * (may be NULL), or a negative producer_error after logging the cause. */
int producer_db_backup(const struct db_config *cfg, const char *dir,
                       const struct producer_backup_options *opt, struct producer_backup_manifest *ret);

/* Restore the backup in dir into the configured database: refused when the manifest is missing or its schema
 * is newer than this cardline; the target must not exist, or be empty, unless opt->replace (then it is
 * dropped and recreated). After pg_restore the row counts must match the manifest; pending migrations are
 * then applied. *ret_applied (may be NULL) counts them. Returns 0 or a negative producer_error after logging
 * the cause. */
int producer_db_restore(const struct db_config *cfg, const char *dir,
                        const struct producer_backup_options *opt, struct producer_backup_manifest *ret,
                        int *ret_applied);

/* Read and check dir/manifest. Returns 0, PRODUCER_ERROR_NOT_FOUND (no manifest) or PRODUCER_ERROR_INPUT
 * (malformed); logs nothing. */
int producer_backup_manifest_read(const char *dir, struct producer_backup_manifest *ret);
