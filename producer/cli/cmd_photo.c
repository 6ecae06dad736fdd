/* cmd_photo.c — `cardline photo ...`: check photos (one or a folder), issue and verify receipts, show
 * profiles */
#include "cli/cli.h"
#include "base/fileio.h"
#include "base/i18n.h"
#include "store/db.h"
#include "base/log.h"
#include "photo.h"
#include "intake/photo_receipt.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A folder holds at most this many photos per run; a studio's batch is far smaller. */
#define MAX_FILES      100000
#define PROGRESS_WIDTH 30

struct file_list {
    char **paths;
    size_t n, cap;
};

static void file_list_free(struct file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
}

static int file_list_add(struct file_list *l, const char *path)
{
    if (l->n == MAX_FILES)
        return -E2BIG;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **grown = realloc(l->paths, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        l->paths = grown;
        l->cap = cap;
    }
    l->paths[l->n] = strdup(path);
    if (!l->paths[l->n])
        return -ENOMEM;
    l->n++;
    return 0;
}

static bool photo_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return name[0] != '.' && dot &&
           (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0);
}

/* A folder contributes its JPEG and PNG files (not recursively), in name order so reports are stable. */
static int add_dir(struct file_list *l, const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort), r = 0;

    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (r == 0 && photo_name(names[i]->d_name)) {
            int k = snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            r = k < 0 || (size_t)k >= sizeof(path) ? -ENAMETOOLONG : file_list_add(l, path);
        }
        free(names[i]);
    }
    free(names);
    return r;
}

static int read_photo(const char *path, uint8_t **ret, size_t *ret_len)
{
    struct stat st;
    FILE *f = fopen(path, "rbe");
    uint8_t *buf;

    if (!f)
        return -errno;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return -EINVAL;
    }
    /* One byte over the limit is enough for the checker to say the file is too large. */
    size_t want = (size_t)st.st_size > PHOTO_MAX_BYTES ? PHOTO_MAX_BYTES + 1u : (size_t)st.st_size;
    buf = malloc(want ? want : 1);
    if (!buf) {
        fclose(f);
        return -ENOMEM;
    }
    size_t n = fread(buf, 1, want, f);
    fclose(f);
    *ret = buf;
    *ret_len = n;
    return 0;
}

static void progress(size_t done, size_t total, const char *name)
{
    int filled = (int)(total ? done * PROGRESS_WIDTH / total : 0);
    const char *base = strrchr(name, '/');
    fprintf(stderr, "\r\033[K[%.*s%*s] %zu/%zu %.40s", filled, "##############################",
            PROGRESS_WIDTH - filled, "", done, total, base ? base + 1 : name);
    if (done == total)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

static void print_report(const struct photo_report *rep, const char *file, bool verbose)
{
    char ids[512], message[512];

    photo_report_failing_ids(rep, ids, sizeof(ids));
    if (rep->verdict == PHOTO_STATUS_FAIL)
        printf(_("%s: FAIL (%s)\n"), file, ids);
    else
        printf("%s: %s\n", file, rep->verdict == PHOTO_STATUS_WARN ? _("pass with warnings") : _("pass"));
    for (size_t i = 0; i < rep->count; i++) {
        const struct photo_check_result *c = &rep->checks[i];
        if (!verbose && c->status != PHOTO_STATUS_FAIL && c->status != PHOTO_STATUS_WARN)
            continue;
        printf("  %-4s %-24s %-18s %-22s %s\n", photo_status_name(c->status), c->id, c->value_text, c->limit,
               producer_photo_message(c->message, message, sizeof(message)));
    }
}

static int load_profile(const char *arg, struct photo_profile *ret)
{
    char err[200];
    const struct photo_profile *b = photo_profile_builtin(arg);

    if (b) {
        *ret = *b;
        return 0;
    }
    if (!strchr(arg, '/') && access(arg, R_OK) != 0) {
        fprintf(stderr,
                _("cardline photo: unknown profile '%s' (built in: ssc, national-id; or a profile file)\n"),
                arg);
        return EXIT_USAGE;
    }
    if (photo_profile_load(arg, ret, err, sizeof(err)) < 0) {
        fprintf(stderr, _("cardline photo: profile %s: %s\n"), arg, err);
        return EXIT_USAGE;
    }
    return 0;
}

static int open_checker(const char *models, struct photo_checker **ret)
{
    if (!models)
        models = getenv("CARDLINE_PHOTO_MODELS");
    int r = photo_checker_new(models, ret);
    if (r < 0) {
        fprintf(stderr,
                _("cardline photo: face detection models not found or unreadable in %s: install the Debian "
                  "package "
                  "opencv-data (or give --models DIR)\n"),
                models && *models ? models : PHOTO_DEFAULT_MODEL_DIR);
        return 2;
    }
    return 0;
}

static int print_receipt(const struct photo_receipt *rc, const char *png, const char *pdf)
{
    printf("receipt %s\n  photo sha256 %s\n  profile %s v%u, %s%s%s\n  studio %s, applicant %s\n  issued %s, "
           "valid until %s\n",
           rc->number, rc->sha256, rc->profile, rc->profile_version, rc->verdict, rc->warnings[0] ? ": " : "",
           rc->warnings, rc->studio, rc->doc_masked, rc->issued_at, rc->valid_until);
    if (png)
        printf("  written %s\n", png);
    if (pdf)
        printf("  written %s\n", pdf);
    return 0;
}

/* Render the receipt as DIR/<number>.png and .pdf. */
static int render_receipt(const struct photo_receipt *rc, const uint8_t *data, size_t len, const char *dir)
{
    char png[PATH_MAX], pdf[PATH_MAX];
    struct photo_image *img = NULL;
    int r;

    r = producer_private_dir(dir);
    if (r < 0) {
        fprintf(stderr, _("cardline photo: cannot create %s: %s\n"), dir, strerror(-r));
        return 1;
    }
    if (snprintf(png, sizeof(png), "%s/%s.png", dir, rc->number) >= (int)sizeof(png) ||
        snprintf(pdf, sizeof(pdf), "%s/%s.pdf", dir, rc->number) >= (int)sizeof(pdf))
        return 1;
    if (data)
        (void)photo_decode(data, len, &img); /* the receipt shows the photo when it decodes */
    r = photo_receipt_render(rc, img, PHOTO_RECEIPT_PNG, png);
    if (r == 0)
        r = photo_receipt_render(rc, img, PHOTO_RECEIPT_PDF, pdf);
    photo_image_free(img);
    if (r < 0) {
        fprintf(stderr, _("cardline photo: cannot write the receipt to %s: %s\n"), dir, _(photo_strerror(r)));
        return 1;
    }
    return print_receipt(rc, png, pdf);
}

static int cmd_check(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"profile", required_argument, NULL, 'p'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"models", required_argument, NULL, 'm'},
                                         {"receipt", no_argument, NULL, 'r'},
                                         {"studio", required_argument, NULL, 's'},
                                         {"id", required_argument, NULL, 'i'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"doc-type", required_argument, NULL, 'T'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct photo_profile profile = *photo_profile_builtin(NULL);
    const char *models = NULL, *studio = NULL, *doc = NULL, *doc_type = NULL, *out = NULL;
    bool json = false, verbose = false, receipt = false;
    struct photo_checker *ck = NULL;
    struct file_list files = {0};
    json_object *all = NULL;
    int c, r, status = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if ((r = load_profile(optarg, &profile)) != 0)
                return r;
            break;
        case 'j':
            json = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'm':
            models = optarg;
            break;
        case 'r':
            receipt = true;
            break;
        case 's':
            studio = optarg;
            break;
        case 'i':
            doc = optarg;
            break;
        case 'T':
            doc_type = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            cli_usage_print(stdout, "photo", "check");
            return 0;
        default:
            return cli_usage_error("photo", "check");
        }
    }
    if (optind >= argc)
        return cli_usage_error("photo", "check");
    if (receipt && (!studio || !doc || argc - optind != 1)) {
        fprintf(stderr, _("cardline photo check: --receipt needs --studio, --id and exactly one FILE\n"));
        return EXIT_USAGE;
    }
    if (!receipt && (studio || doc || doc_type || out)) {
        fprintf(stderr, _("cardline photo check: --studio, --id, --doc-type and --out go with --receipt\n"));
        return EXIT_USAGE;
    }
    if (receipt) {
        /* an invalid document number is refused before the photo is checked: no receipt could be issued */
        struct producer_ctx ctx = {.conn = cli_open_db(g), .actor = "operator"};
        if (!ctx.conn)
            return 2;
        r = producer_photo_receipt_doc_check(&ctx, doc_type, doc);
        PQfinish(ctx.conn);
        if (r < 0) {
            fprintf(stderr, _("cardline photo check: no receipt: %s\n"),
                    ctx.message[0] ? ctx.message : _(producer_strerror(r)));
            return r == PRODUCER_ERROR_INPUT ? EXIT_USAGE : 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            r = add_dir(&files, argv[i]);
        else
            r = file_list_add(&files, argv[i]);
        if (r < 0) {
            fprintf(stderr, _("cardline photo check: %s: %s\n"), argv[i], strerror(-r));
            file_list_free(&files);
            return 2;
        }
    }
    if (files.n == 0) {
        fprintf(stderr, _("cardline photo check: no .jpg, .jpeg or .png files found\n"));
        file_list_free(&files);
        return 2;
    }
    if ((r = open_checker(models, &ck)) != 0) {
        file_list_free(&files);
        return r;
    }
    if (json)
        all = json_object_new_array();
    bool show_progress = files.n > 1 && isatty(STDERR_FILENO) && (json || !isatty(STDOUT_FILENO));
    for (size_t i = 0; i < files.n; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        struct photo_report *rep = NULL;
        if (show_progress)
            progress(i, files.n, files.paths[i]);
        r = read_photo(files.paths[i], &data, &len);
        if (r < 0) {
            fprintf(stderr, _("cardline photo check: cannot read %s: %s\n"), files.paths[i], strerror(-r));
            if (json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "file", json_object_new_string(files.paths[i]));
                json_object_object_add(o, "verdict", json_object_new_string("error"));
                json_object_object_add(o, "error", json_object_new_string(strerror(-r)));
                json_object_array_add(all, o);
            }
            status = 2;
            continue;
        }
        r = photo_check(ck, data, len, &profile, &rep);
        if (r < 0) {
            fprintf(stderr, _("cardline photo check: %s: %s\n"), files.paths[i], _(photo_strerror(r)));
            free(data);
            status = 2;
            continue;
        }
        if (rep->verdict == PHOTO_STATUS_FAIL && status == 0)
            status = 1;
        if (json)
            json_object_array_add(all, producer_photo_report_json(rep, files.paths[i]));
        else
            print_report(rep, files.paths[i], verbose);
        if (receipt && rep->verdict != PHOTO_STATUS_FAIL) {
            PGconn *conn = cli_open_db(g);
            struct producer_ctx ctx = {.conn = conn, .actor = "operator"};
            struct photo_receipt rc;
            char dir[PATH_MAX + 16];
            if (!conn) {
                status = 2;
            } else if ((r = producer_photo_receipt_issue(&ctx, data, len, rep, studio, doc_type, doc, &rc)) <
                       0) {
                fprintf(stderr, _("cardline photo check: no receipt: %s\n"),
                        ctx.message[0] ? ctx.message : _(producer_strerror(r)));
                status = r == PRODUCER_ERROR_INPUT ? EXIT_USAGE : 1;
            } else {
                if (!out)
                    snprintf(dir, sizeof(dir), "%s/receipts", g->cfg.data_dir);
                if (render_receipt(&rc, data, len, out ? out : dir) != 0)
                    status = 1;
            }
            PQfinish(conn);
        } else if (receipt) {
            fprintf(stderr, _("cardline photo check: no receipt: the photo fails\n"));
        }
        photo_report_free(rep);
        free(data);
    }
    if (show_progress)
        progress(files.n, files.n, "");
    if (json) {
        puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(all);
    }
    photo_checker_free(ck);
    file_list_free(&files);
    return status;
}

static int cmd_verify(struct globals *g, int argc, char **argv)
{
    char reason[256];
    uint8_t *data = NULL;
    size_t len = 0;
    PGconn *conn;
    int r;

    if (argc != 3)
        return cli_usage_error("photo", "verify");
    if (photo_receipt_number_valid(argv[1]) < 0) {
        fprintf(stderr,
                _("cardline photo verify: '%s' is not a receipt number (its check character is wrong or "
                  "it is mistyped)\n"),
                argv[1]);
        return 1;
    }
    r = read_photo(argv[2], &data, &len);
    if (r < 0) {
        fprintf(stderr, _("cardline photo verify: cannot read %s: %s\n"), argv[2], strerror(-r));
        return 2;
    }
    conn = cli_open_db(g);
    if (!conn) {
        free(data);
        return 1;
    }
    r = producer_photo_receipt_verify(conn, argv[1], data, len, reason, sizeof(reason));
    if (r == 0) {
        struct photo_receipt rc;
        if (producer_photo_receipt_get(conn, argv[1], &rc) == 0)
            printf(_("valid: %s is the photo of receipt %s (studio %s, applicant %s, valid until %s)\n"),
                   argv[2], rc.number, rc.studio, rc.doc_masked, rc.valid_until);
        else
            printf(_("valid: %s is the photo of receipt %s\n"), argv[2], argv[1]);
    } else if (r != PRODUCER_ERROR_DB) {
        printf(_("NOT valid: %s\n"), reason);
    } else {
        fprintf(stderr, _("cardline photo verify: %s\n"), reason);
    }
    PQfinish(conn);
    free(data);
    return r == 0 ? 0 : 1;
}

static int cmd_receipt(struct globals *g, int argc, char **argv)
{
    struct photo_receipt rc;
    PGconn *conn;
    int r;

    if (argc != 3 && argc != 4)
        return cli_usage_error("photo", "receipt");
    conn = cli_open_db(g);
    if (!conn)
        return 1;
    r = producer_photo_receipt_get(conn, argv[2], &rc);
    PQfinish(conn);
    if (r == PRODUCER_ERROR_INPUT || r == PRODUCER_ERROR_NOT_FOUND) {
        fprintf(stderr, _("cardline photo receipt: %s %s\n"), argv[2],
                r == PRODUCER_ERROR_INPUT ? _("is not a receipt number") : _("was never issued"));
        return 1;
    }
    if (r < 0) {
        fprintf(stderr, _("cardline photo receipt: %s could not be read: %s\n"), argv[2],
                _(producer_strerror(r)));
        return 1;
    }
    return argc == 4 ? render_receipt(&rc, NULL, 0, argv[3]) : print_receipt(&rc, NULL, NULL);
}

static void print_range(const char *key, struct photo_range r)
{
    if (r.min <= -1e8)
        printf("%-18s = ..%g\n", key, r.max);
    else if (r.max >= 1e8)
        printf("%-18s = %g..\n", key, r.min);
    else
        printf("%-18s = %g..%g\n", key, r.min, r.max);
}

/* Prints a profile in the profile file format, so a bureau can start its own from it. */
static int cmd_profile(int argc, char **argv)
{
    struct photo_profile p;

    if (argc != 3)
        return cli_usage_error("photo", "profile");
    if (load_profile(argv[2], &p) != 0)
        return EXIT_USAGE;
    printf("# cardline photo profile\nname = %s\nversion = %u\nformats = %s\nwidth = %u\nheight = %u\n",
           p.name, p.version, p.allow_png ? "jpeg,png" : "jpeg", p.width, p.height);
    print_range("density_dpi", p.density_dpi);
    print_range("jpeg_quality", p.jpeg_quality);
    print_range("file_size_kb", p.file_size_kb);
    print_range("background_min", p.background_min);
    print_range("background_chroma", p.background_chroma);
    print_range("background_noise", p.background_noise);
    print_range("border_step", p.border_step);
    print_range("clothing_contrast", p.clothing_contrast);
    print_range("face_width", p.face_width);
    print_range("head_top", p.head_top);
    print_range("eye_line", p.eye_line);
    print_range("eye_centre", p.eye_centre);
    print_range("roll_deg", p.roll_deg);
    print_range("eye_distance", p.eye_distance);
    print_range("face_luminance", p.face_luminance);
    print_range("clipping_pct", p.clipping_pct);
    print_range("entropy_bits", p.entropy_bits);
    print_range("sharpness", p.sharpness);
    print_range("skin_a", p.skin_a);
    print_range("skin_b", p.skin_b);
    print_range("cheek_delta", p.cheek_delta);
    print_range("glare_pct", p.glare_pct);
    print_range("blockiness", p.blockiness);
    for (unsigned i = 0; i < PHOTO_CHECK_COUNT; i++)
        if (p.severity[i] != PHOTO_SEVERITY_FAIL)
            printf("severity.%s = %s\n", photo_check_ids()[i],
                   p.severity[i] == PHOTO_SEVERITY_WARN ? "warn" : "off");
    return 0;
}

int cmd_photo(struct globals *g, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";

    if (strcmp(sub, "check") == 0)
        return cmd_check(g, argc - 1, argv + 1);
    if (strcmp(sub, "verify") == 0)
        return cmd_verify(g, argc - 1, argv + 1);
    if (strcmp(sub, "receipt") == 0)
        return cmd_receipt(g, argc, argv);
    if (strcmp(sub, "profile") == 0)
        return cmd_profile(argc, argv);
    if (strcmp(sub, "help") == 0) {
        cli_usage_print(stdout, "photo", NULL);
        return 0;
    }
    return cli_usage_error("photo", NULL);
}
