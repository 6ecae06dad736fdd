#!/usr/bin/env bash
# dberror.sh — a database failure during an application's checks is never blamed on the applicant: the line's
# session is terminated in the middle of the checks (and later a check query fails outright), and the applications
# go back to the queue — not held, no attempt used, deadline unmoved — and are produced once the database answers
source "$(dirname "$0")/lib.sh"
require_postgres
new_db

cl gen applications 6 --seed 77 >/dev/null
deadlines=$(sql "SELECT string_agg(id || ':' || coalesce(deadline::text, '-'), ',' ORDER BY id) FROM application")

# The outlet lookup of the checks ('SELECT 1 FROM outlet WHERE code = ...') runs through a view whose function
# terminates the session that runs that query, the first two times; then it makes the query fail once with an
# error; then it lets everything through. Nothing else reads the view.
psql "$DB" -XAtq -v ON_ERROR_STOP=1 <<'SQL'
CREATE SEQUENCE sabotage;
CREATE FUNCTION sabotage_check() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    IF current_query() NOT LIKE 'SELECT 1 FROM outlet WHERE code = %' THEN
        RETURN true;
    END IF;
    n := nextval('sabotage');
    IF n <= 2 THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
    ELSIF n = 3 THEN
        RAISE EXCEPTION 'test: the database refused the outlet check' USING ERRCODE = 'lock_not_available';
    END IF;
    RETURN true;
END $$;
ALTER TABLE outlet RENAME TO outlet_table;
CREATE VIEW outlet AS SELECT * FROM outlet_table WHERE sabotage_check();
SQL

cl --verbose run --lines 1 --until-empty --lease-seconds 3 2>"$WORK/run.err" || {
    cat "$WORK/run.err" >&2
    fail "the line did not ride through the database failures"
}
# two sessions terminated, one query refused, then six checks that pass
expect_eq "outlet checks made" "$(sql "SELECT last_value FROM sabotage")" "9"
grep -q "outlet check" "$WORK/run.err" || fail "the failed check was not logged: $(tail -5 "$WORK/run.err")"
expect_eq "nothing held" "$(sql "SELECT count(*) FROM application WHERE status = 'held' OR held_since IS NOT NULL")" "0"
expect_eq "every application produced" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "6"
expect_eq "no attempt used up by the failures" "$(sql "SELECT max(attempts) FROM application")" "1"
expect_eq "no held days" "$(sql "SELECT sum(held_working_days) FROM application")" "0"
expect_eq "deadlines unmoved" \
    "$(sql "SELECT string_agg(id || ':' || coalesce(deadline::text, '-'), ',' ORDER BY id) FROM application")" \
    "$deadlines"
expect_eq "no card spoiled" "$(sql "SELECT count(*) FROM card WHERE status = 'spoiled'")" "0"

# The photo is read last among the checks: the session that reads it is terminated once, then that read fails once
# with an error; the applications still go back to the queue untouched and are produced.
cl gen applications 3 --seed 78 >/dev/null
deadlines=$(sql "SELECT string_agg(id || ':' || coalesce(deadline::text, '-'), ',' ORDER BY id) FROM application")
psql "$DB" -XAtq -v ON_ERROR_STOP=1 <<'SQL'
CREATE SEQUENCE sabotage_photo;
CREATE FUNCTION sabotage_photo_check() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    IF current_query() NOT LIKE 'SELECT bytes FROM photo WHERE id = %' THEN
        RETURN true;
    END IF;
    n := nextval('sabotage_photo');
    IF n = 1 THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
    ELSIF n = 2 THEN
        RAISE EXCEPTION 'test: the database refused the photo' USING ERRCODE = 'lock_not_available';
    END IF;
    RETURN true;
END $$;
ALTER TABLE photo RENAME TO photo_table;
CREATE VIEW photo AS SELECT * FROM photo_table WHERE sabotage_photo_check();
SQL
cl --verbose run --lines 1 --until-empty --lease-seconds 3 2>"$WORK/run2.err" || {
    cat "$WORK/run2.err" >&2
    fail "the line did not ride through the database failures while reading the photo"
}
# one session terminated, one read refused, then three reads that pass
expect_eq "photo reads made" "$(sql "SELECT last_value FROM sabotage_photo")" "5"
grep -q "application [0-9]*: photo: " "$WORK/run2.err" || fail "the failed photo read was not logged"
expect_eq "still nothing held" "$(sql "SELECT count(*) FROM application WHERE status = 'held' OR held_since IS NOT NULL")" "0"
expect_eq "all nine produced" "$(sql "SELECT count(*) FROM application WHERE status = 'produced'")" "9"
expect_eq "still no attempt used up" "$(sql "SELECT max(attempts) FROM application")" "1"
expect_eq "deadlines still unmoved" \
    "$(sql "SELECT string_agg(id || ':' || coalesce(deadline::text, '-'), ',' ORDER BY id) FROM application")" \
    "$deadlines"
expect_eq "still no card spoiled" "$(sql "SELECT count(*) FROM card WHERE status = 'spoiled'")" "0"
