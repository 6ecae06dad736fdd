/* cli.h — what the cardline command's parts share: global options and small argument helpers */
#pragma once

#include "store/db.h"

#include <stdbool.h>
#include <stdio.h>

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

/* One entry of the command reference (help.c): what `cardline COMMAND [SUB] --help` prints, what a bad usage
 * prints, and what tools/man/ turns into the man pages, so the three never disagree. */
struct cli_usage {
    const char *command;  /* "dispatch" */
    const char *sub;      /* "seal-due", or NULL for the command itself */
    const char *synopsis; /* what follows "cardline COMMAND [SUB] "; further lines after '\n' */
    const char *summary;  /* one line, lower case, no full stop: what it does */
    const char
        *details; /* options ("  --opt ARG  what it does") and notes, each line ending in '\n'; or NULL */
};
extern const struct cli_usage cli_usages[];
extern const size_t cli_usage_count;

/* Answers a help request: when -h or --help is among argv (before "--"), prints the usage of the subcommand
 * argv[1] names, else the command's, on standard output and returns 0; returns -1 when help was not asked.
 * It touches nothing else, so `--help` never starts a database or creates a directory. */
int cli_help(const char *command, int argc, char **argv);
/* Prints the usage of COMMAND SUB (SUB NULL or unknown: the command's, with its subcommands). */
void cli_usage_print(FILE *out, const char *command, const char *sub);
/* Prints the usage of COMMAND SUB to standard error and returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *sub);
/* Prints `cardline --help`: every command with its summary, the global options, the environment. */
void cli_usage_top(FILE *out);
bool cli_is_command(const char *command);
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
int cmd_bank(struct globals *g, int argc, char **argv);
