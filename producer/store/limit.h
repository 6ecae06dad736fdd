/* limit.h — limits on failed tries (sign-ins, public tracking) kept in PostgreSQL: they hold whatever an
 * attacker sends and across several server processes */
#pragma once

#include "store/db.h"

#include <stdint.h>

struct producer_limit {
    const char *kind;        /* "login" or "track" (the attempt_failure.kind) */
    int window_s;            /* failures count for this many seconds */
    int per_address;         /* failures from one address, whatever the subject */
    int per_subject_address; /* failures for one subject (account, application) from one address */
    int per_subject;         /* failures for one subject from all addresses together (distributed guessing) */
};

/* May (subject, address) try now? When it may, the try is recorded as a failure in advance, so that
 * concurrent tries count too, and 0 is returned with its id in *ret_id: pass it to producer_limit_forgive
 * when the try succeeds (or was never made). When a limit is reached, nothing is recorded and the seconds to
 * wait (> 0) are returned. PRODUCER_ERROR_DB (logged) when the database fails: the caller refuses the try.
 * subject and address are cut to 64 bytes. Old failures of this kind are pruned on the way. */
int producer_limit_take(PGconn *conn, const struct producer_limit *lim, const char *subject,
                        const char *address, int64_t *ret_id);
/* Drop the failure recorded in advance for a try that succeeded; 0 or PRODUCER_ERROR_DB (logged). */
int producer_limit_forgive(PGconn *conn, int64_t id);
