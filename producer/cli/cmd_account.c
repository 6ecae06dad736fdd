/* cmd_account.c — `cardline account ...`: dashboard accounts, their roles, passwords and API tokens */
#include "account/account.h"
#include "cli/cli.h"
#include "base/i18n.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

/* the password from standard input (first line), or a new random one that is printed */
static int get_password(bool from_stdin, char *out, size_t size, bool *ret_generated)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    *ret_generated = !from_stdin;
    if (from_stdin) {
        if (!fgets(out, (int)size, stdin))
            return -1;
        out[strcspn(out, "\r\n")] = '\0';
        return 0;
    }
    for (size_t i = 0; i < 16 && i + 1 < size; i++) {
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
        out[i + 1] = '\0';
    }
    return 0;
}

int cmd_account(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},     {"studio", required_argument, NULL, 's'},
        {"password-stdin", no_argument, NULL, 'p'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    const char *sub = argc > 1 ? argv[1] : "", *role = NULL, *studio = NULL, *name = NULL;
    bool pw_stdin = false, json = false, generated = false;
    char password[ACCOUNT_PASSWORD_MAX + 2];
    PGconn *conn;
    int c, r = 0;

    if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "disable") != 0 &&
        strcmp(sub, "password") != 0 && strcmp(sub, "token") != 0)
        return cli_usage_error("account", NULL);
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            role = optarg;
            break;
        case 's':
            studio = optarg;
            break;
        case 'p':
            pw_stdin = true;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            cli_usage_print(stdout, "account", sub);
            return 0;
        default:
            return cli_usage_error("account", sub);
        }
    }
    if (strcmp(sub, "list") != 0) {
        if (optind != argc - 1 || !producer_account_valid_name(argv[optind])) {
            fprintf(stderr, _("cardline account %s: name one account (2-32 of a-z 0-9 . _ -)\n"), sub);
            return EXIT_USAGE;
        }
        name = argv[optind];
    }
    if (strcmp(sub, "add") == 0) {
        if (!producer_account_valid_role(role)) {
            fprintf(stderr,
                    _("cardline account add: --role must be operator, studio, dispatch, auditor or admin\n"));
            return EXIT_USAGE;
        }
        if ((strcmp(role, "studio") == 0) != (studio != NULL) ||
            (studio && !producer_account_valid_studio(studio))) {
            fprintf(stderr,
                    _("cardline account add: a studio account needs --studio CODE (1-32 of A-Z a-z 0-9 _ -); "
                      "other roles take none\n"));
            return EXIT_USAGE;
        }
    }
    if (producer_account_init() < 0) {
        fprintf(stderr, _("cardline account: libsodium failed to start\n"));
        return 1;
    }
    if ((strcmp(sub, "add") == 0 || strcmp(sub, "password") == 0) &&
        get_password(pw_stdin, password, sizeof(password), &generated) < 0) {
        fprintf(stderr, _("cardline account %s: no password on standard input\n"), sub);
        return EXIT_USAGE;
    }
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    if (strcmp(sub, "add") == 0 || strcmp(sub, "password") == 0) {
        r = strcmp(sub, "add") == 0 ? producer_account_add(conn, name, role, studio, password)
                                    : producer_account_set_password(conn, name, password);
        if (r == 0 && generated)
            printf(strcmp(sub, "add") == 0 ? _("added %s; password (shown once): %s\n")
                                           : _("new password for %s; password (shown once): %s\n"),
                   name, password);
        else if (r == 0)
            printf(strcmp(sub, "add") == 0 ? _("added %s\n") : _("new password for %s\n"), name);
        sodium_memzero(password, sizeof(password));
    } else if (strcmp(sub, "disable") == 0) {
        r = producer_account_disable(conn, name);
        if (r == 0)
            printf(_("disabled %s; its sessions and token no longer work\n"), name);
    } else if (strcmp(sub, "token") == 0) {
        char token[ACCOUNT_TOKEN_LEN];
        r = producer_account_new_token(conn, name, token);
        if (r == 0)
            printf("%s\n", token);
        sodium_memzero(token, sizeof(token));
    } else {
        json_object *a = NULL;
        r = producer_account_list_json(conn, &a);
        if (r == 0 && json)
            puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        for (size_t i = 0; r == 0 && !json && i < json_object_array_length(a); i++) {
            json_object *o = json_object_array_get_idx(a, i), *v;
            printf("%-20s %-9s %-12s %s%s\n", json_object_get_string(json_object_object_get(o, "name")),
                   json_object_get_string(json_object_object_get(o, "role")),
                   json_object_object_get_ex(o, "studio", &v) ? json_object_get_string(v) : "-",
                   json_object_get_boolean(json_object_object_get(o, "disabled")) ? _("disabled")
                                                                                  : _("active"),
                   json_object_get_boolean(json_object_object_get(o, "token")) ? _(", has API token") : "");
        }
        json_object_put(a);
    }
    PQfinish(conn);
    if (r == PRODUCER_ERROR_NOT_FOUND)
        fprintf(stderr, _("cardline account %s: no account %s%s\n"), sub, name ? name : "",
                strcmp(sub, "token") == 0 ? _(" (or it is disabled)") : "");
    else if (r < 0)
        fprintf(stderr, "cardline account %s: %s\n", sub, account_strerror(r));
    return r == 0 ? 0 : r == PRODUCER_ERROR_INPUT || r == ACCOUNT_ERROR_WEAK ? EXIT_USAGE : 1;
}
