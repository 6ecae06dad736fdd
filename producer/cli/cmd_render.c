/* cmd_render.c — `cardline render`: draws an application's card face exactly as the printer would get it,
 * into a PNG */
#include "cli/cli.h"
#include "store/db.h"
#include "base/log.h"
#include "photo.h"
#include "printer.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_PLACEHOLDER_DIGITS "00000000"

static int render_usage(FILE *out)
{
    fputs(
        "Usage: cardline render --application ID --png FILE.png [--layout FILE.json]\n"
        "Draw the front of the application's card as it will be printed (300 dpi, 1016x648) into FILE.png.\n"
        "The card number is that of the application's produced card; before production a placeholder\n"
        "(prefix + 00000000) stands in. --layout (or $CARDLINE_LAYOUT) names another layout file.\n",
        out);
    return out == stdout ? 0 : EXIT_USAGE;
}

int cmd_render(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"application", required_argument, NULL, 'a'},
                                         {"png", required_argument, NULL, 'p'},
                                         {"layout", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *png = NULL, *layout_path = NULL;
    struct printer_layout *layout = NULL;
    struct printer_raster *raster = NULL;
    struct photo_image *photo = NULL;
    struct printer_face face;
    char id_text[24], card_number[16], masked[64], why[512] = "", bad[8] = "";
    const char *params[1] = {id_text};
    PGresult *res = NULL;
    PGconn *conn = NULL;
    long id = 0;
    int c, r, status = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (!cli_parse_int(optarg, 1, LONG_MAX, &id))
                return cli_bad_number("--application", optarg, 1, LONG_MAX);
            break;
        case 'p':
            png = optarg;
            break;
        case 'l':
            layout_path = optarg;
            break;
        case 'h':
            return render_usage(stdout);
        default:
            return EXIT_USAGE;
        }
    }
    if (!id || !png || optind != argc)
        return render_usage(stderr);

    /* the layout first: a broken layout file is the operator's to fix before anything else */
    r = printer_layout_load(layout_path, &layout, why, sizeof(why));
    if (r < 0) {
        fprintf(stderr, "cardline render: %s\n", why[0] ? why : printer_strerror(r));
        return 1;
    }
    conn = cli_open_db(g);
    if (!conn)
        goto out;
    snprintf(id_text, sizeof(id_text), "%ld", id);
    /* binary results: the photo's bytes come as they are; text columns are text either way */
    res = PQexecParams(conn,
                       "SELECT a.name, a.ssn, coalesce(a.bank_name, ''), p.bytes, "
                       "       coalesce(c.card_number, "
                       "                (SELECT value FROM setting WHERE key = 'card_number_prefix') || "
                       "'" RENDER_PLACEHOLDER_DIGITS "'), "
                       "       to_char(coalesce(c.issue_date, bureau_date(clock_now())), 'YYYY'), "
                       "       to_char(coalesce(c.issue_date, bureau_date(clock_now())), 'MM'), "
                       "       c.card_number IS NOT NULL "
                       "FROM application a "
                       "LEFT JOIN photo p ON p.id = a.photo_id "
                       "LEFT JOIN LATERAL (SELECT card_number, issue_date FROM card "
                       "                   WHERE application_id = a.id AND status IN ('good', 'issued') "
                       "                   ORDER BY card_number DESC LIMIT 1) c ON true "
                       "WHERE a.id = $1",
                       1, NULL, params, NULL, NULL, 1);
    if (!db_ok(res)) {
        fprintf(stderr, "cardline render: reading application %s: %s", id_text, PQresultErrorMessage(res));
        goto out;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "cardline render: no application %s\n", id_text);
        goto out;
    }
    memset(&face, 0, sizeof(face));
    face.name = PQgetvalue(res, 0, 0);
    face.ssn = PQgetvalue(res, 0, 1);
    face.bank_name = PQgetvalue(res, 0, 2)[0] ? PQgetvalue(res, 0, 2) : NULL;
    snprintf(card_number, sizeof(card_number), "%s", PQgetvalue(res, 0, 4));
    face.card_number = card_number;
    face.issue_year = atoi(PQgetvalue(res, 0, 5));
    face.issue_month = atoi(PQgetvalue(res, 0, 6));
    face.layout = layout;
    if (!PQgetisnull(res, 0, 3)) {
        r = photo_decode((const uint8_t *)PQgetvalue(res, 0, 3), (size_t)PQgetlength(res, 0, 3), &photo);
        if (r < 0) {
            fprintf(stderr, "cardline render: the photo of application %s cannot be decoded: %s\n", id_text,
                    photo_strerror(r));
            goto out;
        }
        face.photo_rgb = photo->rgb;
        face.photo_width = photo->width;
        face.photo_height = photo->height;
    }
    r = printer_render_face(&face, &raster, bad);
    if (r == PRINTER_ERROR_FONT) {
        producer_mask_name(face.name, masked, sizeof(masked));
        fprintf(stderr, "cardline render: the name %s contains '%s', which no installed font can print\n",
                masked, bad);
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, "cardline render: application %s: %s\n", id_text, printer_strerror(r));
        goto out;
    }
    r = printer_raster_write_png(raster, png);
    if (r < 0) {
        fprintf(stderr, "cardline render: cannot write %s: %s\n", png, printer_strerror(r));
        goto out;
    }
    printf("wrote %s (card %s%s%s)\n", png, card_number, *PQgetvalue(res, 0, 7) ? "" : ", placeholder number",
           photo ? "" : ", no photo");
    status = 0;
out:
    printer_raster_free(raster);
    photo_image_free(photo);
    PQclear(res);
    if (conn)
        PQfinish(conn);
    printer_layout_free(layout);
    return status;
}
