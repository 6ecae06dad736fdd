/* transport.c — what every card transport shares: closing it, and T=0 response chaining (61xx, 6Cxx) */
#include <stdlib.h>
#include <string.h>

#include "encoder-private.h"

/* A card that keeps answering 61xx must not hold the line forever; 256 data bytes never need this many. */
#define GET_RESPONSE_MAX_ROUNDS 16

void encoder_transport_close(struct encoder_transport *t)
{
    if (!t)
        return;
    if (t->ops && t->ops->close)
        t->ops->close(t->ctx);
    encoder_atr_allowlist_free(t->atr_allow);
    free(t);
}

static int raw_transmit(struct encoder_transport *t, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
                        size_t resp_max, size_t *ret_len)
{
    size_t n = 0;
    int r = t->ops->transmit(t->ctx, apdu, apdu_len, resp, resp_max, &n);
    if (r < 0)
        return r;
    if (n < 2 || n > resp_max) /* a response without SW1 SW2 is a broken reader or driver */
        return ENCODER_ERROR_TRANSPORT;
    *ret_len = n;
    return 0;
}

/* Given the card's first answer to apdu (in buf, n bytes), finish it: 6Cxx resend, 61xx GET RESPONSE. */
static int complete(struct encoder_transport *t, const uint8_t *apdu, size_t apdu_len, uint8_t *buf, size_t n,
                    uint8_t *resp, size_t resp_max, size_t *ret_resp_len)
{
    int r;
    if (buf[n - 2] == 0x6C) {
        /* Wrong Le: the card says how many bytes it has; ask again for exactly that (once). */
        struct encoder_apdu a;
        if (encoder_apdu_parse(apdu, apdu_len, &a) == 0) {
            uint8_t again[ENCODER_APDU_MAX];
            size_t again_len;
            a.has_le = true;
            a.le = buf[n - 1] ? buf[n - 1] : 256;
            r = encoder_apdu_build(&a, again, sizeof again, &again_len);
            if (r < 0)
                return r;
            r = raw_transmit(t, again, again_len, buf, ENCODER_RESP_MAX, &n);
            if (r < 0)
                return r;
        }
    }

    size_t out_len = 0;
    for (unsigned round = 0;; round++) {
        size_t data_len = n - 2;
        if (out_len + data_len + 2 > resp_max)
            return ENCODER_ERROR_TRANSPORT; /* more data than any SSSE command returns */
        memcpy(resp + out_len, buf, data_len);
        out_len += data_len;
        if (buf[n - 2] != 0x61 || round == GET_RESPONSE_MAX_ROUNDS)
            break;
        const uint8_t get_response[5] = {0x00, 0xC0, 0x00, 0x00, buf[n - 1]};
        r = raw_transmit(t, get_response, sizeof get_response, buf, ENCODER_RESP_MAX, &n);
        if (r < 0)
            return r;
    }
    resp[out_len] = buf[n - 2];
    resp[out_len + 1] = buf[n - 1];
    *ret_resp_len = out_len + 2;
    return 0;
}

int encoder_transport_transmit(struct encoder_transport *t, const uint8_t *apdu, size_t apdu_len,
                               uint8_t *resp, size_t resp_max, size_t *ret_resp_len)
{
    if (!t || !t->ops || !t->ops->transmit || !apdu || !resp || !ret_resp_len || resp_max < 2)
        return ENCODER_ERROR_INVALID;

    uint8_t buf[ENCODER_RESP_MAX];
    size_t n;
    int r = raw_transmit(t, apdu, apdu_len, buf, sizeof buf, &n);
    if (r < 0)
        return r;
    return complete(t, apdu, apdu_len, buf, n, resp, resp_max, ret_resp_len);
}

static bool sw_ok(const uint8_t *resp, size_t len)
{
    return len >= 2 && resp[len - 2] == 0x90 && resp[len - 1] == 0x00;
}

int encoder_transport_transmit_many(struct encoder_transport *t, struct encoder_exchange *x, size_t count,
                                    size_t *ret_done)
{
    if (!t || !t->ops || !t->ops->transmit || (count && !x) || !ret_done || count > ENCODER_BATCH_MAX)
        return ENCODER_ERROR_INVALID;
    size_t i = 0;
    int r = 0;
    while (i < count) {
        if (!t->ops->transmit_many) {
            r = encoder_transport_transmit(t, x[i].apdu, x[i].apdu_len, x[i].resp, sizeof x[i].resp,
                                           &x[i].resp_len);
            if (r < 0)
                break;
            i++;
            if (!sw_ok(x[i - 1].resp, x[i - 1].resp_len))
                break;
            continue;
        }
        size_t done = 0;
        r = t->ops->transmit_many(t->ctx, x + i, count - i, &done);
        if (done > count - i)
            return ENCODER_ERROR_TRANSPORT;
        i += done;
        if (r < 0)
            break;
        if (done == 0)
            return ENCODER_ERROR_TRANSPORT;
        struct encoder_exchange *last = &x[i - 1];
        if (last->resp_len < 2 || last->resp_len > sizeof last->resp)
            return ENCODER_ERROR_TRANSPORT;
        if (sw_ok(last->resp, last->resp_len))
            continue;
        /* Stopped on a 61xx/6Cxx (finish it here) or on a refusal (stop). */
        uint8_t first[ENCODER_RESP_MAX];
        memcpy(first, last->resp, last->resp_len);
        r = complete(t, last->apdu, last->apdu_len, first, last->resp_len, last->resp, sizeof last->resp,
                     &last->resp_len);
        if (r < 0) {
            i--;
            break;
        }
        if (!sw_ok(last->resp, last->resp_len))
            break;
    }
    *ret_done = i;
    return r;
}
