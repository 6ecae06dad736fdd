/* fuzz_printer_replies.c — fuzz target for everything a printer (or a layout file) says to cardline: Evolis
 * and Magicard replies and status texts, IEEE-1284 device IDs, the JSON card layout. Built for libFuzzer with
 * clang
 * (-DCARDLINE_FUZZ=ON); otherwise a standalone driver replays files and a fixed number of random mutations.
 */
#include "codec/codec.h"
#include "render/face-private.h"
#include "printer-private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TEXT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[FUZZ_TEXT_MAX + 1], out[64];
    struct printer_reply reply;
    struct printer_layout *layout = NULL;
    size_t n;

    if (size == 0)
        return 0;
    /* the first byte picks the parser, the rest is the input */
    n = size - 1 < FUZZ_TEXT_MAX ? size - 1 : FUZZ_TEXT_MAX;
    memcpy(text, data + 1, n);
    text[n] = '\0';
    switch (data[0] % 4) {
    case 0:
        if (evolis_parse_reply(data + 1, size - 1, &reply) == 0) {
            enum printer_card_position pos;
            const struct printer_fault *f;
            long v;

            if (strlen(reply.text) >= sizeof(reply.text) ||
                (reply.kind == PRINTER_REPLY_OK) != !strcmp(reply.text, "OK"))
                abort();
            f = evolis_reply_fault(reply.text);
            if (f && (!f->cause || strcmp(f->match, reply.text) != 0))
                abort();
            if (evolis_parse_position(reply.text, &pos) == 0 && pos != PRINTER_CARD_NONE &&
                pos != PRINTER_CARD_UNKNOWN)
                abort();
            if (evolis_parse_counter(reply.text, &v) == 0 && (v < 0 || v > 999999999))
                abort();
            /* an Smr read-back: compared with what was written, and as track data of its own */
            for (unsigned t = 1; t <= PRINTER_MAG_TRACKS; t++) {
                struct printer_mag m = {{NULL, NULL, NULL}, PRINTER_MAG_HICO};
                char cmd[EVOLIS_CMD_MAX + 1], fields[400];

                (void)evolis_mag_verify(t, "B4000^A/B^2912", reply.text);
                m.track[t - 1] = reply.text;
                if (printer_mag_check(&m, out, sizeof(out)) == 0) {
                    if (evolis_mag_download(t, reply.text, cmd, sizeof(cmd)) < 0 ||
                        !evolis_mag_verify(t, reply.text, reply.text))
                        abort();
                    if (magicard_mag_fields(&m, fields, sizeof(fields)) < 0 && !strchr(reply.text, ','))
                        abort();
                } else if (evolis_mag_download(t, reply.text, cmd, sizeof(cmd)) >= 0) {
                    abort();
                }
            }
        }
        break;
    case 1:
        if (magicard_parse_reply(data + 1, size - 1, &reply) == 0) {
            struct magicard_info in;

            if (strlen(reply.text) >= sizeof(reply.text))
                abort();
            /* the positional STA$$ parser: strings bounded, error codes looked up in the vendor table */
            if (magicard_parse_inf(reply.text, &in) == 0) {
                if (strlen(in.model) >= sizeof(in.model) || strlen(in.serial) >= sizeof(in.serial) ||
                    strlen(in.firmware) >= sizeof(in.firmware) || in.major < -1 || in.minor < -1)
                    abort();
                if (in.major > 0 && !magicard_error_lookup((unsigned)in.major)->cause)
                    abort();
            }
        }
        break;
    case 2:
        for (const char *const *k = (const char *const[]){"MFG", "MDL", "SN", "CMD", "X", NULL}; *k; k++)
            if (printer_device_id_field(text, *k, out, sizeof(out)) == 0 && strlen(out) >= sizeof(out))
                abort();
        break;
    default:
        if (printer_layout_parse((const char *)data + 1, size - 1, "fuzz", &layout, out, sizeof(out)) == 0) {
            if (layout->n_texts == 0 || layout->n_texts > FACE_TEXTS_MAX)
                abort();
            printer_layout_free(layout);
        }
        break;
    }
    return 0;
}
