/* fuzz_printer_replies.c — fuzz target for everything a printer (or a layout file) says to cardline: Evolis
 * and Magicard replies and status texts, IEEE-1284 device IDs, the JSON card layout. Built for libFuzzer with
 * clang
 * (-DCARDLINE_FUZZ=ON); otherwise a standalone driver replays files and a fixed number of random mutations.
 */
#include "codec.h"
#include "face-private.h"
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
            int feeder;

            if (strlen(reply.text) >= sizeof(reply.text) ||
                (reply.kind == PRINTER_REPLY_ERROR && !reply.fault))
                abort();
            evolis_parse_position(reply.text, &pos);
            evolis_parse_feeder(reply.text, &feeder);
        }
        break;
    case 1:
        if (magicard_parse_reply(data + 1, size - 1, &reply) == 0) {
            struct magicard_status st;

            if (strlen(reply.text) >= sizeof(reply.text))
                abort();
            if (magicard_parse_status(reply.text, &st) == 0 && st.fault && !st.fault->cause)
                abort();
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
