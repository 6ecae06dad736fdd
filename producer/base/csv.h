/* csv.h — RFC 4180 records: a reader over a buffer in memory, bounded in fields and field length, and the one
 * writer every CSV cardline produces goes through */
#pragma once

#include <stddef.h>
#include <stdio.h>

#define CSV_MAX_FIELDS 32
#define CSV_MAX_RECORD 8192

struct csv_record {
    int nfields;
    char *fields[CSV_MAX_FIELDS]; /* point into buf */
    char buf[CSV_MAX_RECORD];
    int line; /* line number where the record starts (1-based) */
};

enum csv_result {
    CSV_RECORD = 1,
    CSV_END = 0,
    CSV_ERROR_QUOTE = -1,    /* quote not closed or text after a closing quote */
    CSV_ERROR_TOO_LONG = -2, /* record longer than CSV_MAX_RECORD */
    CSV_ERROR_TOO_MANY = -3, /* more than CSV_MAX_FIELDS fields */
    CSV_ERROR_NUL = -4,      /* NUL byte in the input */
};

/* Parse the record starting at *pos in data (len bytes), advancing *pos and *line. A UTF-8 byte order mark at
 * offset 0 is skipped. Returns CSV_RECORD, CSV_END, or a CSV_ERROR. */
int csv_next(const char *data, size_t len, size_t *pos, int *line, struct csv_record *rec);
const char *csv_strerror(int err);

/* Writer flags. */
enum csv_write_flags {
    CSV_WRITE_QUOTE_ALL = 1 << 0,    /* quote every field, not only those that need it */
    CSV_WRITE_SAFE_FORMULA = 1 << 1, /* a field starting with = + - @ gets a leading ' so that a spreadsheet
                                        shows it as text instead of running it (CSV injection) */
};

/* Write one record of n fields and its line end (LF) to f. A field holding a comma, a double quote, CR or LF
 * is quoted and its quotes doubled (RFC 4180); NULL is written as an empty field. Bytes other than those pass
 * through unchanged (UTF-8 stays UTF-8). Returns 0, or -1 when f reports a write error. */
int csv_write_record(FILE *f, const char *const *fields, int n, unsigned flags);
