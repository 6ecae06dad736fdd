/* outlets.h (store) — the outlets cards are delivered to: existence, count, and the one insert every writer
 * uses */
#pragma once

#include "store/db.h"

/* One outlet as written. weekdays is a PostgreSQL integer array literal of ISO weekdays, "{1,3,5}". */
struct store_outlet {
    const char *code;
    const char *name;
    const char *kind; /* hrss | bank */
    const char *county;
    const char *weekdays;
    int transit_days;
};

/* What to do when an outlet with that code already exists. */
enum store_outlet_conflict {
    STORE_OUTLET_KEEP = 1,   /* leave the existing row (default outlets of a fresh database) */
    STORE_OUTLET_UPDATE = 2, /* overwrite it (configuration apply) */
    STORE_OUTLET_REFUSE = 3, /* refuse: PRODUCER_ERROR_INPUT, ret_why "exists" (an operator adding one) */
};

/* Write one outlet within the caller's transaction. Returns 0; PRODUCER_ERROR_INPUT with *ret_why (may be
 * NULL) "exists" or "out of range" when the database refuses the row; PRODUCER_ERROR_DB (logged at debug). */
int store_outlets_put(PGconn *conn, const struct store_outlet *o, enum store_outlet_conflict on_conflict,
                      const char **ret_why);

/* 1 when an outlet has that code, 0 when none, PRODUCER_ERROR_DB. */
int store_outlets_exists(PGconn *conn, const char *code);
/* How many outlets there are. */
int store_outlets_count(PGconn *conn, int *ret_count);
