/* stock.h — blank card stock per line: moves and the balancing report */
#pragma once

#include <libpq-fe.h>
#include <stdbool.h>

/* Record blanks issued to, returned from, or taken as samples from a line (kind issued|returned|sample). A
 * line must be in the books already (a run, the configuration, or an earlier issue) unless new_line opens
 * them with this issue; returns and samples never take more than the line has on hand. Returns 0,
 * PRODUCER_ERROR_INPUT (logged, in the operator's terms) or PRODUCER_ERROR_DB. */
int producer_stock_move(PGconn *conn, const char *line, const char *kind, int quantity, bool new_line,
                        const char *actor);

/* Print the stock per line (all lines when line is NULL) for moves in [from, to) (NULL = open), as text or as
 * the JSON of store_stock_report (store/stock.h), the object GET /api/v1/stock answers. Returns the number of
 * lines that do not balance (0 = balanced) or a negative error. */
int producer_stock_report(PGconn *conn, const char *line, const char *from, const char *to, bool json);
