/* cmd_bank.c — `cardline bank ...`: importing the bank's data files for the cards' bank application, and the
 * list of applications the bank still owes data for */
#include "base/fileio.h"
#include "base/i18n.h"
#include "base/log.h"
#include "cli/cli.h"
#include "intake/bank.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BANK_READ_MAX                                                                                        \
    (64 * 1024 + 1) /* one more than a bank file may hold, so that a bigger one is refused */

struct import_count {
    struct producer_ctx *ctx;
    int imported, refused;
    bool db_failed;
};

static void import_one(struct import_count *n, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int r = producer_read_file(path, BANK_READ_MAX, &text, &len);

    if (r < 0) {
        if (r == -EFBIG)
            fprintf(stderr, _("cardline bank import: %s: larger than 64 KiB: not a bank data file\n"), path);
        else
            fprintf(stderr, "cardline bank import: %s: %s\n", path, strerror(-r));
        n->refused++;
        return;
    }
    r = producer_bank_import(n->ctx, path, text, len);
    free(text);
    if (r < 0) {
        fprintf(stderr, "cardline bank import: %s\n", n->ctx->message);
        n->refused++;
        n->db_failed |= r == PRODUCER_ERROR_DB;
        return;
    }
    log_info("bank", "imported %s", n->ctx->message);
    n->imported++;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int bank_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".bank") == 0;
}

/* A directory: its *.bank files in name order, so a run can be repeated and compared. */
static void import_dir(struct import_count *n, const char *dir)
{
    struct dirent **list = NULL;
    int k = scandir(dir, &list, bank_file, by_name);

    if (k < 0) {
        fprintf(stderr, "cardline bank import: %s: %s\n", dir, strerror(errno));
        n->refused++;
        return;
    }
    if (k == 0)
        fprintf(stderr, _("cardline bank import: %s: no *.bank files in it\n"), dir);
    for (int i = 0; i < k; i++) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name) < sizeof(path))
            import_one(n, path);
        free(list[i]);
    }
    free(list);
}

static int pending_csv(void *arg, const char *upstream_id, const char *bank, const char *name)
{
    const char *fields[3] = {upstream_id, bank, name};

    for (int i = 0; i < 3; i++) {
        const char *f = fields[i];
        /* RFC 4180: quoted when it holds a separator, a quote or a line end */
        if (strpbrk(f, ",\"\r\n")) {
            putchar('"');
            for (; *f; f++) {
                if (*f == '"')
                    putchar('"');
                putchar(*f);
            }
            putchar('"');
        } else {
            fputs(f, stdout);
        }
        putchar(i < 2 ? ',' : '\n');
    }
    (void)arg;
    return 0;
}

static int pending_text(void *arg, const char *upstream_id, const char *bank, const char *name)
{
    (void)arg;
    printf("%-24s %-20s %s\n", upstream_id, bank[0] ? bank : "-", name);
    return 0;
}

int cmd_bank(struct globals *g, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    char actor[96];
    struct passwd *pw = getpwuid(getuid());
    struct producer_ctx ctx = {.actor = actor};
    bool csv = false;
    int r = 0;

    snprintf(actor, sizeof(actor), "cli:%s", pw && pw->pw_name ? pw->pw_name : "unknown");
    if (strcmp(sub, "import") == 0) {
        struct import_count n = {.ctx = &ctx};
        if (argc < 3 || argv[2][0] == '-')
            return cli_usage_error("bank", "import");
        ctx.conn = cli_open_db(g);
        if (!ctx.conn)
            return 1;
        for (int i = 2; i < argc; i++) {
            struct stat st;
            if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
                import_dir(&n, argv[i]);
            else
                import_one(&n, argv[i]);
        }
        printf(_("imported %d, refused %d\n"), n.imported, n.refused);
        PQfinish(ctx.conn);
        return n.refused > 0 || n.imported == 0;
    }
    if (strcmp(sub, "pending") == 0) {
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--csv") == 0)
                csv = true;
            else
                return cli_usage_error("bank", "pending");
        }
        ctx.conn = cli_open_db(g);
        if (!ctx.conn)
            return 1;
        /* the header is what the bank's data preparation reads (tools/bank-dataprep) */
        if (csv)
            puts("upstream_id,bank,name");
        else
            printf("%-24s %-20s %s\n", _("upstream id"), _("bank"), _("name"));
        r = producer_bank_pending(&ctx, csv ? pending_csv : pending_text, NULL);
        if (r < 0)
            fprintf(stderr, "cardline bank pending: %s\n", ctx.message);
        else if (!csv)
            printf(_("%d application(s) without bank data\n"), r);
        PQfinish(ctx.conn);
        return r < 0;
    }
    return cli_usage_error("bank", NULL);
}
