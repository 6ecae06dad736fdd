/* csv.c — RFC 4180 records (quoted fields, doubled quotes, CRLF or LF): the reader of application imports and
 * the writer of manifests and shipment exports */
#include "base/csv.h"
#include "base/i18n.h"

#include <stdbool.h>
#include <string.h>

const char *csv_strerror(int err)
{
    switch (err) {
    case CSV_ERROR_QUOTE:
        return _("unbalanced quotes");
    case CSV_ERROR_TOO_LONG:
        return _("record too long");
    case CSV_ERROR_TOO_MANY:
        return _("too many fields");
    case CSV_ERROR_NUL:
        return _("NUL byte in the file");
    default:
        return "ok";
    }
}

int csv_next(const char *data, size_t len, size_t *pos, int *line, struct csv_record *rec)
{
    size_t p = *pos, o = 0;
    int quoted = 0, after_quote = 0;

    if (p == 0 && len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        p = 3;
    /* skip blank lines between records */
    while (p < len && (data[p] == '\n' || data[p] == '\r')) {
        if (data[p] == '\n')
            (*line)++;
        p++;
    }
    if (p >= len) {
        *pos = p;
        return CSV_END;
    }
    rec->line = *line;
    rec->nfields = 1;
    rec->fields[0] = rec->buf;
    for (; p < len; p++) {
        char c = data[p];

        if (c == '\0')
            return CSV_ERROR_NUL;
        if (quoted) {
            if (c == '"') {
                if (p + 1 < len && data[p + 1] == '"') {
                    p++;
                } else {
                    quoted = 0;
                    after_quote = 1;
                    continue;
                }
            } else if (c == '\n') {
                (*line)++;
            }
        } else if (c == ',') {
            if (o + 1 >= CSV_MAX_RECORD)
                return CSV_ERROR_TOO_LONG;
            if (rec->nfields == CSV_MAX_FIELDS)
                return CSV_ERROR_TOO_MANY;
            rec->buf[o++] = '\0';
            rec->fields[rec->nfields++] = rec->buf + o;
            after_quote = 0;
            continue;
        } else if (c == '\n' || c == '\r') {
            break;
        } else if (c == '"') {
            /* a quote may only open a field */
            if (after_quote || rec->fields[rec->nfields - 1] != rec->buf + o)
                return CSV_ERROR_QUOTE;
            quoted = 1;
            continue;
        } else if (after_quote) {
            return CSV_ERROR_QUOTE;
        }
        if (o + 1 >= CSV_MAX_RECORD)
            return CSV_ERROR_TOO_LONG;
        rec->buf[o++] = c;
    }
    if (quoted)
        return CSV_ERROR_QUOTE;
    rec->buf[o] = '\0';
    if (p < len && data[p] == '\r')
        p++;
    if (p < len && data[p] == '\n') {
        p++;
        (*line)++;
    }
    *pos = p;
    return CSV_RECORD;
}

static int write_field(FILE *f, const char *s, unsigned flags)
{
    bool formula = (flags & CSV_WRITE_SAFE_FORMULA) && s[0] && strchr("=+-@", s[0]);
    bool quote = (flags & CSV_WRITE_QUOTE_ALL) || s[strcspn(s, ",\"\r\n")] != '\0';

    if (quote && fputc('"', f) == EOF)
        return -1;
    if (formula && fputc('\'', f) == EOF)
        return -1;
    for (; *s; s++) {
        if (*s == '"' && fputc('"', f) == EOF)
            return -1;
        if (fputc(*s, f) == EOF)
            return -1;
    }
    if (quote && fputc('"', f) == EOF)
        return -1;
    return 0;
}

int csv_write_record(FILE *f, const char *const *fields, int n, unsigned flags)
{
    for (int i = 0; i < n; i++) {
        if (i > 0 && fputc(',', f) == EOF)
            return -1;
        if (write_field(f, fields[i] ? fields[i] : "", flags) < 0)
            return -1;
    }
    return fputc('\n', f) == EOF ? -1 : 0;
}
