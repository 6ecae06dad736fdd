/* cli.h — what the cardline command's parts share: global options and small argument helpers */
#pragma once

#include "store/db.h"

#include <stdbool.h>

#define EXIT_USAGE 2

struct globals {
    const char *data_dir;
    const char *db;
    struct db_config cfg;
};

/* Work out where the database is (no connection yet). Returns 0 or a negative error (logged). */
int cli_resolve(struct globals *g);
/* Resolve, start the private cluster when needed, connect and migrate; NULL after logging the cause. */
PGconn *cli_open_db(struct globals *g);
bool cli_want_help(int argc, char **argv);
bool cli_parse_int(const char *s, long min, long max, long *ret);
/* Print "OPT 'VALUE' must be a number from MIN to MAX" and return EXIT_USAGE. */
int cli_bad_number(const char *opt, const char *value, long min, long max);

/* Commands implemented in cmd_<part>.c files: int cmd_<name>(struct globals *g, int argc, char **argv);
 * argv[0] is the command's name; exit status 0 ok, 1 failure, EXIT_USAGE bad usage. */
int cmd_application(struct globals *g, int argc, char **argv);
int cmd_card(struct globals *g, int argc, char **argv);
int cmd_calendar(struct globals *g, int argc, char **argv);
int cmd_stock(struct globals *g, int argc, char **argv);
int cmd_risk(struct globals *g, int argc, char **argv);
int cmd_config(struct globals *g, int argc, char **argv);
int cmd_dispatch(struct globals *g, int argc, char **argv);
int cmd_serve(struct globals *g, int argc, char **argv);
int cmd_account(struct globals *g, int argc, char **argv);
int cmd_chip(struct globals *g, int argc, char **argv);
int cmd_photo(struct globals *g, int argc, char **argv);
int cmd_render(struct globals *g, int argc, char **argv);
int cmd_devices(struct globals *g, int argc, char **argv);
