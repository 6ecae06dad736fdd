/* migrations.h — the numbered schema migrations compiled into the program (generated from migrations/NNNN_*.sql) */
#pragma once

#include <stddef.h>

struct producer_migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct producer_migration producer_migrations[];
extern const size_t producer_migration_count;
