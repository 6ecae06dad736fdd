/* settings.h (store) — the bureau's settings a program reads, the schema version, and the lines a
 * configuration names */
#pragma once

#include "store/db.h"

#include <stddef.h>

/* The bureau's time zone (setting bureau_timezone, an IANA name such as the migrations' default). */
int store_settings_time_zone(PGconn *conn, char *buf, size_t size);

/* The newest migration applied to this database (0 when none). */
int store_settings_schema_version(PGconn *conn, int *ret_version);

/* A configured line is in the books (stock can be issued to it) before it first runs; an existing one is left
 * as it is. Within the caller's transaction. */
int store_settings_line(PGconn *conn, const char *line_id);
