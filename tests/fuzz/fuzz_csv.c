/* fuzz_csv.c — fuzz target for the CSV reader that application and calendar imports use */
#include "fuzz.h"
#include "base/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct csv_record rec;
    size_t pos = 0, last = 0;
    int line = 1, r;

    while ((r = csv_next((const char *)data, size, &pos, &line, &rec)) == CSV_RECORD) {
        /* progress on every record, fields inside the record buffer and NUL-terminated */
        CHECK(pos > last && pos <= size);
        CHECK(rec.nfields >= 1 && rec.nfields <= CSV_MAX_FIELDS);
        for (int i = 0; i < rec.nfields; i++) {
            CHECK(rec.fields[i] >= rec.buf && rec.fields[i] < rec.buf + CSV_MAX_RECORD);
            CHECK(memchr(rec.fields[i], '\0', (size_t)(rec.buf + CSV_MAX_RECORD - rec.fields[i])) != NULL);
        }
        last = pos;
    }
    CHECK(r == CSV_END || r < 0);
    return 0;
}
