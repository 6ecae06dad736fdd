/* cmd_render.c — `cardline render`: draws an application's card face exactly as the printer would get it,
 * into a PNG */
#include "cli/cli.h"
#include "base/i18n.h"
#include "line/line.h"
#include "store/production.h"
#include "base/log.h"
#include "photo.h"
#include "printer.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct store_render_row row = {.photo = NULL};
    struct producer_claim claim;
    struct line_card_source src;
    struct printer_face face;
    char id_text[65] = "", masked[64], why[512] = "", bad[8] = "";
    PGconn *conn = NULL;
    int c, r, status = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            /* the application number or its upstream id, as `application show` takes it */
            if (!optarg[0] || strlen(optarg) >= sizeof(id_text)) {
                fprintf(stderr,
                        _("cardline render: --application wants an application number or upstream id "
                          "(at most %zu characters)\n"),
                        sizeof(id_text) - 1);
                return EXIT_USAGE;
            }
            snprintf(id_text, sizeof(id_text), "%s", optarg);
            break;
        case 'p':
            png = optarg;
            break;
        case 'l':
            layout_path = optarg;
            break;
        case 'h':
            cli_usage_print(stdout, "render", NULL);
            return 0;
        default:
            return cli_usage_error("render", NULL);
        }
    }
    if (!id_text[0] || !png || optind != argc)
        return cli_usage_error("render", NULL);

    /* the layout first: a broken layout file is the operator's to fix before anything else */
    r = printer_layout_load(layout_path, &layout, why, sizeof(why));
    if (r < 0) {
        fprintf(stderr, _("cardline render: %s\n"), why[0] ? why : _(printer_strerror(r)));
        return 1;
    }
    conn = cli_open_db(g);
    if (!conn)
        goto out;
    r = store_production_render_row(conn, id_text, &row);
    if (r == PRODUCER_ERROR_NOT_FOUND) {
        fprintf(stderr, _("cardline render: no application %s\n"), id_text);
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, _("cardline render: reading application %s: %s"), id_text, PQerrorMessage(conn));
        goto out;
    }
    if (row.photo) {
        r = photo_decode(row.photo, row.photo_len, &photo);
        if (r < 0) {
            fprintf(stderr, _("cardline render: the photo of application %s cannot be decoded: %s\n"),
                    id_text, _(photo_strerror(r)));
            goto out;
        }
    }
    /* the same face the line prints, by the line's own path from a claim to the face: a temporary card's
     * validity line included (the face only needs what a claim carries; the chip is not drawn) */
    memset(&claim, 0, sizeof(claim));
    snprintf(claim.app.name, sizeof(claim.app.name), "%s", row.name);
    snprintf(claim.app.ssn, sizeof(claim.app.ssn), "%s", row.ssn);
    snprintf(claim.app.bank_name, sizeof(claim.app.bank_name), "%s", row.bank_name);
    snprintf(claim.app.kind, sizeof(claim.app.kind), "%s", row.kind);
    snprintf(claim.issue_date, sizeof(claim.issue_date), "%s", row.issue_date);
    snprintf(claim.expiry_date, sizeof(claim.expiry_date), "%s", row.expiry_date);
    line_card_source_of_claim(&claim, row.card_number, NULL, &src);
    line_card_face(&src, layout, photo, &face);
    r = printer_render_face(&face, &raster, bad);
    if (r == PRINTER_ERROR_FONT) {
        producer_mask_name(face.name, masked, sizeof(masked));
        fprintf(stderr, _("cardline render: the name %s contains '%s', which no installed font can print\n"),
                masked, bad);
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, _("cardline render: application %s: %s\n"), id_text, _(printer_strerror(r)));
        goto out;
    }
    r = printer_raster_write_png(raster, png);
    if (r < 0) {
        fprintf(stderr, _("cardline render: cannot write %s: %s\n"), png, _(printer_strerror(r)));
        goto out;
    }
    printf("wrote %s (card %s%s%s)\n", png, row.card_number, row.has_card ? "" : ", placeholder number",
           photo ? "" : ", no photo");
    status = 0;
out:
    printer_raster_free(raster);
    photo_image_free(photo);
    free(row.photo);
    if (conn)
        PQfinish(conn);
    printer_layout_free(layout);
    return status;
}
