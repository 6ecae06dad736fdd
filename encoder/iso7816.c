/* iso7816.c — the ISO 7816-4 base card operations (after OpenSC's iso7816.c) and command batches; card
 * profiles (ssse.c) copy this table and override what differs */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "encoder-private.h"

/* ---- batches: commands queued by the operations, sent in one go ---- */

static int batch_queue(struct encoder_card_batch *b, const uint8_t *apdu, size_t apdu_len)
{
    if (b->n >= ENCODER_BATCH_MAX || apdu_len > ENCODER_APDU_MAX)
        return ENCODER_ERROR_INVALID;
    memcpy(b->apdu[b->n], apdu, apdu_len);
    b->x[b->n] = (struct encoder_exchange){.apdu = b->apdu[b->n], .apdu_len = apdu_len};
    b->what[b->n][0] = '\0';
    b->err_on_status[b->n] = 0;
    b->n++;
    return 0;
}

void encoder_batch_label(struct encoder_card_batch *b, int err_on_status, const char *fmt, ...)
{
    if (!b || b->n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->what[b->n - 1], sizeof b->what[0], fmt, ap);
    va_end(ap);
    b->err_on_status[b->n - 1] = err_on_status;
}

/* ---- one command ---- */

int encoder_card_exchange(struct encoder_card *card, const uint8_t *apdu, size_t apdu_len, uint8_t *data,
                          size_t data_max, size_t *ret_data_len)
{
    uint8_t resp[ENCODER_RESP_MAX];
    size_t resp_len;
    const uint8_t *d;
    size_t d_len;
    uint16_t sw;

    card->sw = 0;
    if (card->batch) {
        int q = batch_queue(card->batch, apdu, apdu_len);
        if (q == 0 && ret_data_len)
            *ret_data_len = 0; /* the answer is read from the batch once it has been sent */
        return q;
    }
    int r = encoder_transport_transmit(card->t, apdu, apdu_len, resp, sizeof resp, &resp_len);
    if (r < 0)
        return r;
    r = encoder_response_parse(resp, resp_len, &d, &d_len, &sw);
    if (r < 0)
        return r;
    card->sw = sw;
    r = encoder_sw_to_error(sw);
    if (r == 0 && data) {
        if (d_len > data_max)
            r = ENCODER_ERROR_STATUS; /* the card sent more than the command can return */
        else {
            memcpy(data, d, d_len);
            if (ret_data_len)
                *ret_data_len = d_len;
        }
    }
    OPENSSL_cleanse(resp, sizeof resp);
    return r;
}

int encoder_card_command(struct encoder_card *card, const struct encoder_apdu *a, uint8_t *data,
                         size_t data_max, size_t *ret_data_len)
{
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t apdu_len;
    int r = encoder_apdu_build(a, apdu, sizeof apdu, &apdu_len);
    if (r == 0)
        r = encoder_card_exchange(card, apdu, apdu_len, data, data_max, ret_data_len);
    OPENSSL_cleanse(apdu, sizeof apdu);
    return r;
}

/* ---- ISO 7816-4 operations ---- */

static int iso_select_aid(struct encoder_card *card, const uint8_t *aid, size_t aid_len, uint8_t *fci,
                          size_t fci_max, size_t *ret_fci_len)
{
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t apdu_len;
    int r = encoder_apdu_select_aid(aid, aid_len, fci != NULL, apdu, sizeof apdu, &apdu_len);
    if (r < 0)
        return r;
    return encoder_card_exchange(card, apdu, apdu_len, fci, fci_max, ret_fci_len);
}

static int iso_select_ef(struct encoder_card *card, uint16_t fid)
{
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t apdu_len;
    /* P1 = 00: select MF, DF or EF by file identifier. */
    int r = encoder_apdu_select_ef(0x00, fid, apdu, sizeof apdu, &apdu_len);
    if (r < 0)
        return r;
    return encoder_card_exchange(card, apdu, apdu_len, NULL, 0, NULL);
}

static int iso_read_record(struct encoder_card *card, uint8_t p1, uint8_t p2, uint8_t *buf, size_t buf_max,
                           size_t *ret_len)
{
    if (!buf || !ret_len)
        return ENCODER_ERROR_INVALID;
    /* Le = the buffer's size, which callers that know the record's length make exact (a T=0 card answers
     * any other Le with 6Cxx, costing a second exchange); up to 256 (00). On 6Cxx the transport asks again
     * with the length the card gave. */
    size_t le = buf_max < 256 ? buf_max : 256;
    if (le == 0)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.ins = 0xB2, .p1 = p1, .p2 = p2, .has_le = true, .le = le};
    return encoder_card_command(card, &a, buf, buf_max, ret_len);
}

static int iso_update_record(struct encoder_card *card, uint8_t p1, uint8_t p2, const uint8_t *data,
                             size_t len)
{
    if (!data || len == 0 || len > 255)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.ins = 0xDC, .p1 = p1, .p2 = p2, .data = data, .lc = len};
    return encoder_card_command(card, &a, NULL, 0, NULL);
}

static int iso_get_challenge(struct encoder_card *card, uint8_t *buf, size_t len)
{
    if (!buf || len == 0 || len > 255)
        return ENCODER_ERROR_INVALID;
    uint8_t tmp[256];
    size_t n = 0;
    struct encoder_apdu a = {.ins = 0x84, .has_le = true, .le = len};
    int r = encoder_card_command(card, &a, tmp, sizeof tmp, &n);
    if (r < 0)
        return r;
    if (n != len)
        return ENCODER_ERROR_STATUS;
    memcpy(buf, tmp, len);
    return 0;
}

static int iso_external_authenticate(struct encoder_card *card, uint8_t key_id, const uint8_t *data,
                                     size_t len)
{
    if (!data || len == 0 || len > 255)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.ins = 0x82, .p2 = key_id, .data = data, .lc = len};
    return encoder_card_command(card, &a, NULL, 0, NULL);
}

static int iso_internal_authenticate(struct encoder_card *card, uint8_t key_id, const uint8_t *data,
                                     size_t len, uint8_t ret_auth[8])
{
    if (!data || len == 0 || len > 255 || !ret_auth)
        return ENCODER_ERROR_INVALID;
    uint8_t out[256];
    size_t n = 0;
    /* case 4: under T=0 the answer comes as 61 08 and GET RESPONSE (the transport completes it) */
    struct encoder_apdu a = {.ins = 0x88, .p2 = key_id, .data = data, .lc = len, .has_le = true, .le = 256};
    int r = encoder_card_command(card, &a, out, sizeof out, &n);
    if (r == 0 && !card->batch && n != ENCODER_AUTH_LEN)
        return ENCODER_ERROR_STATUS;
    if (r == 0 && !card->batch)
        memcpy(ret_auth, out, ENCODER_AUTH_LEN);
    return r;
}

/* Returns 0 or the ENCODER_ERROR for a wrong PIN, with the tries left taken from 63Cx. */
int encoder_verify_result(struct encoder_card *card, int r, int *tries_left)
{
    if (r < 0 && tries_left && (card->sw & 0xFFF0) == 0x63C0)
        *tries_left = card->sw & 0x0F;
    return r;
}

static int iso_verify_pin(struct encoder_card *card, const char *pin, int *tries_left)
{
    size_t n = pin ? strnlen(pin, 13) : 0;
    if (n < 4 || n > 12)
        return ENCODER_ERROR_INVALID;
    /* ISO: the PIN bytes as given, P2 = 80 (specific reference data 0). */
    struct encoder_apdu a = {.ins = 0x20, .p2 = 0x80, .data = (const uint8_t *)pin, .lc = n};
    return encoder_verify_result(card, encoder_card_command(card, &a, NULL, 0, NULL), tries_left);
}

static const struct encoder_card_ops iso7816_ops = {
    .select_aid = iso_select_aid,
    .select_ef = iso_select_ef,
    .read_record = iso_read_record,
    .update_record = iso_update_record,
    .get_challenge = iso_get_challenge,
    .external_authenticate = iso_external_authenticate,
    .internal_authenticate = iso_internal_authenticate,
    .verify_pin = iso_verify_pin,
    .pin_unblock = NULL,       /* not an ISO 7816-4 command */
    .application_block = NULL, /* ISO 7816-9 has one, but SSC cards use their own form */
};

const struct encoder_card_ops *encoder_iso7816_ops(void)
{
    return &iso7816_ops;
}
