/* fuzz_replay.h — for the encoder's fuzz targets: a card transport that answers every command with the next
 * chunk of the fuzzer's input ([length][bytes]...) */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "encoder-private.h"

struct replay {
    const uint8_t *p;
    size_t left;
};

static int replay_reset(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len)
{
    (void)ctx;
    /* 13 historical bytes, so that the personaliser gets past the key-dispersal check */
    static const uint8_t a[] = {0x3B, 0x6D, 0x00, 0x00, 0x80, 0x64, 0x11, 0x65, 0x01,
                                0x90, 0x73, 0x44, 0x01, 0x00, 0x00, 0x00, 0x2A};
    if (atr_max < sizeof a)
        return ENCODER_ERROR_INVALID;
    memcpy(atr, a, sizeof a);
    *ret_atr_len = sizeof a;
    return 0;
}

static int replay_transmit(void *ctx, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_max,
                           size_t *ret_resp_len)
{
    struct replay *r = ctx;
    (void)apdu;
    (void)apdu_len;
    if (r->left == 0)
        return ENCODER_ERROR_NO_CARD;
    size_t n = r->p[0];
    r->p++;
    r->left--;
    if (n > r->left)
        n = r->left;
    if (n > resp_max)
        return ENCODER_ERROR_TRANSPORT;
    memcpy(resp, r->p, n);
    r->p += n;
    r->left -= n;
    *ret_resp_len = n;
    return 0;
}

static const struct encoder_transport_ops replay_ops = {.reset = replay_reset, .transmit = replay_transmit};
