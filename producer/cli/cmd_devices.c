/* cmd_devices.c — `cardline devices`: the card printers on USB and the PC/SC readers this machine has */
#include "cli/cli.h"
#include "base/i18n.h"
#include "encoder.h"
#include "printer.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICES_READERS_MAX 32

static json_object *printer_json(const struct printer_device_info *d)
{
    json_object *o = json_object_new_object();
    char id[8];

    json_object_object_add(o, "driver", d->driver[0] ? json_object_new_string(d->driver) : NULL);
    json_object_object_add(o, "manufacturer", json_object_new_string(d->manufacturer));
    json_object_object_add(o, "model", json_object_new_string(d->model));
    json_object_object_add(o, "serial", json_object_new_string(d->serial));
    snprintf(id, sizeof(id), "%04x", d->vendor_id);
    json_object_object_add(o, "vendor_id", json_object_new_string(id));
    snprintf(id, sizeof(id), "%04x", d->product_id);
    json_object_object_add(o, "product_id", json_object_new_string(id));
    json_object_object_add(o, "bus", json_object_new_int(d->bus));
    json_object_object_add(o, "address", json_object_new_int(d->address));
    json_object_object_add(o, "spec", json_object_new_string(d->spec));
    json_object_object_add(o, "error",
                           d->open_error ? json_object_new_string(printer_strerror(d->open_error)) : NULL);
    return o;
}

/* What the printer itself says about its ribbon, counters and cleaning (opening it moves no card); false when
 * it cannot be opened or asked (in use by a running line, say). */
static bool printer_counters(const struct printer_device_info *d, struct printer_status *ret)
{
    enum printer_disposition disp;
    char cause[128];
    struct printer *p = NULL;
    int r;

    if (!d->driver[0] || d->open_error || printer_open_spec(d->spec, NULL, &p) < 0)
        return false;
    r = printer_get_status(p, ret, &disp, cause);
    printer_close(p);
    return r == 0;
}

static json_object *json_count(long v)
{
    return v >= 0 ? json_object_new_int64(v) : NULL;
}

int cmd_devices(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct printer_device_info *printers = NULL;
    struct encoder_reader_info readers[DEVICES_READERS_MAX];
    size_t n_printers = 0, n_readers = 0;
    bool json = false;
    int c, pr, rr;

    (void)g;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'h':
            cli_usage_print(stdout, "devices", NULL);
            return 0;
        default:
            return cli_usage_error("devices", NULL);
        }
    }
    if (optind != argc)
        return cli_usage_error("devices", NULL);

    pr = printer_list_usb(&printers, &n_printers);
    /* --- PC/SC readers (encoder/): listed through encoder_pcsc_list_readers(). --- */
    rr = encoder_pcsc_list_readers(readers, DEVICES_READERS_MAX, &n_readers);
    if (n_readers > DEVICES_READERS_MAX)
        n_readers = DEVICES_READERS_MAX;
    if (rr < 0)
        n_readers = 0;

    if (json) {
        json_object *root = json_object_new_object(), *pa = json_object_new_array(),
                    *ra = json_object_new_array();

        for (size_t i = 0; pr == 0 && i < n_printers; i++) {
            json_object *o = printer_json(&printers[i]);
            struct printer_status st;

            /* ribbon left, cards printed and cleaning due as the printer reports them; null when not */
            if (printer_counters(&printers[i], &st)) {
                json_object_object_add(o, "ribbon_left", json_count(st.ribbon_left));
                json_object_object_add(o, "cards_printed", json_count(st.cards_printed));
                json_object_object_add(o, "cleaning_due",
                                       st.cleaning_due >= 0 ? json_object_new_boolean(st.cleaning_due)
                                                            : NULL);
            }
            json_object_array_add(pa, o);
        }
        for (size_t i = 0; i < n_readers; i++) {
            json_object *o = json_object_new_object();

            json_object_object_add(o, "name", json_object_new_string(readers[i].name));
            json_object_object_add(o, "card_present", json_object_new_boolean(readers[i].card_present == 1));
            json_object_object_add(o, "atr",
                                   readers[i].atr_hex[0] ? json_object_new_string(readers[i].atr_hex) : NULL);
            json_object_array_add(ra, o);
        }
        json_object_object_add(root, "printers", pa);
        json_object_object_add(root, "printers_error",
                               pr < 0 ? json_object_new_string(printer_strerror(pr)) : NULL);
        json_object_object_add(root, "readers", ra);
        json_object_object_add(root, "readers_error",
                               rr < 0 ? json_object_new_string(encoder_strerror(rr)) : NULL);
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
    } else {
        printf(_("Printers (USB):\n"));
        if (pr < 0)
            printf(_("  cannot list USB devices: %s\n"), _(printer_strerror(pr)));
        else if (n_printers == 0)
            printf(_("  none\n"));
        for (size_t i = 0; pr == 0 && i < n_printers; i++) {
            const struct printer_device_info *d = &printers[i];

            printf(_("  %-12s %-9s %s %s, serial %s, USB %04x:%04x%s%s\n"), d->spec,
                   d->driver[0] ? d->driver : "(none)", d->manufacturer[0] ? d->manufacturer : "?",
                   d->model[0] ? d->model : "?", d->serial[0] ? d->serial : "?", d->vendor_id, d->product_id,
                   d->open_error ? _("; cannot open: ") : "",
                   d->open_error ? _(printer_strerror(d->open_error)) : "");
            {
                struct printer_status st;

                char ribbon[24] = "?", printed[24] = "?";

                if (printer_counters(d, &st)) {
                    if (st.ribbon_left >= 0)
                        snprintf(ribbon, sizeof(ribbon), "%ld", st.ribbon_left);
                    if (st.cards_printed >= 0)
                        snprintf(printed, sizeof(printed), "%ld", st.cards_printed);
                    printf(_("  %-12s ribbon left %s, cards printed %s%s\n"), "", ribbon, printed,
                           st.cleaning_due == 1 ? ", CLEANING DUE" : "");
                }
            }
        }
        printf(_("PC/SC readers:\n"));
        if (rr < 0)
            printf(_("  cannot list readers: %s\n"), _(encoder_strerror(rr)));
        else if (n_readers == 0)
            printf(_("  none\n"));
        for (size_t i = 0; i < n_readers; i++)
            printf("  %s%s\n", readers[i].name, readers[i].card_present == 1 ? _(" (card present)") : "");
    }
    free(printers);
    return pr < 0 ? 1 : 0;
}
