/* banks.h (store) — the bureau's cooperating banks (table bank): the configured list and its source */
#pragma once

#include "store/db.h"

#include <stddef.h>

#define STORE_BANK_NAME_MAX 101 /* bytes with the NUL (the schema allows 100) */
#define STORE_BANKS_MAX     64

/* Make names[0..n) the active list, within the caller's transaction: each is inserted or reactivated with
 * source, every other bank is marked inactive (never deleted: earlier applications name it). Returns 0,
 * PRODUCER_ERROR_INPUT when the database refuses a name (*ret_bad its index), or PRODUCER_ERROR_DB. */
int store_banks_replace(PGconn *conn, const char *const *names, int n, const char *source, int *ret_bad);

/* The active banks in name order into ret_names (at most max) and where the list came from into ret_source
 * (the newest source among them; "" when the list is empty). Returns how many are active (may exceed max) or
 * PRODUCER_ERROR_DB. */
int store_banks_list(PGconn *conn, char (*ret_names)[STORE_BANK_NAME_MAX], int max, char *ret_source,
                     size_t source_size);
