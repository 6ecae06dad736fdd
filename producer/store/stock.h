/* stock.h (store) — blank card stock in the books: stock moves per line and the balancing report */
#pragma once

#include "store/db.h"

#include <json-c/json.h>
#include <stdbool.h>

/* How a card's status counts, for every reader (the stock report, status, lines, metrics): inside a machine
 * while one of these; good once it left the machine and is none of STORE_CARD_NOT_GOOD. SQL fragments, for
 * the store's statements only. */
#define STORE_CARD_IN_MACHINE "('allocated', 'printing', 'encoding', 'ejecting')"
#define STORE_CARD_NOT_GOOD   "('spoiled', 'unused', 'allocated', 'printing', 'encoding', 'ejecting')"

/* Lock the line's row for the caller's transaction (its stock moves are serialised by it): 1 when the line is
 * in the books, 0 when not, or PRODUCER_ERROR_DB. */
int store_stock_lock_line(PGconn *conn, const char *line);

/* Open a line's books (insert the line). 0 or PRODUCER_ERROR_DB. */
int store_stock_add_line(PGconn *conn, const char *line);

/* Blanks the line should have on hand: issued, less fed (and not given back), returned and sampled. */
int store_stock_on_hand(PGconn *conn, const char *line, long long *ret_on_hand);

/* Record a move (kind issued|returned|sample) of quantity blanks. 0 or PRODUCER_ERROR_DB. */
int store_stock_add_move(PGconn *conn, const char *line, const char *kind, int quantity);

/* The stock report of one line (NULL: all) for moves in [from, to) (NULL: open), what `cardline stock report
 * --json` prints and GET /api/v1/stock answers:
 * {lines: [{line, issued, used, good, spoiled, in_machine, fed_but_unused, unfed_but_used, returned, samples,
 *  on_hand, balanced}], balanced}. A line balances when every blank used is a good, spoiled or in-machine
 * card, no fed card is recorded unused and the reverse, and (for the whole time) on hand is not negative.
 * Returns the number of lines that do not balance (0 = balanced), or PRODUCER_ERROR_DB. */
int store_stock_report(PGconn *conn, const char *line, const char *from, const char *to, json_object **ret);
