/* encoder.h — chip personalisation of the social security application (public interface of the encoder library) */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum encoder_error {
    ENCODER_ERROR_INVALID = -1,     /* bad argument */
    ENCODER_ERROR_NOMEM = -2,
    ENCODER_ERROR_TRANSPORT = -3,   /* reader/card communication failed */
    ENCODER_ERROR_NO_CARD = -4,     /* no card in the station or card removed */
    ENCODER_ERROR_NOT_SSC = -5,     /* the SSSE application is not on this card */
    ENCODER_ERROR_AUTH = -6,        /* external authentication refused */
    ENCODER_ERROR_WRITE = -7,       /* the card refused or failed a write */
    ENCODER_ERROR_READBACK = -8,    /* a record read back differs from what was written */
    ENCODER_ERROR_ENCODING = -9,    /* a field cannot be encoded (e.g. a name character outside GBK) */
    ENCODER_ERROR_STATUS = -10,     /* unexpected status word */
    ENCODER_ERROR_KEY = -11,        /* key service failure */
};

const char *encoder_strerror(int err);

/* A card transport moves APDUs to one card (after OpenSC's reader drivers). */
struct encoder_transport_ops {
    /* Power the card up or reset it; copies the ATR into atr (at most 33 bytes) and sets *ret_atr_len.
     * Returns 0 or an ENCODER_ERROR. */
    int (*reset)(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len);
    /* Send one command APDU, receive the response including SW1 SW2 (at most 258 bytes).
     * Returns 0 or an ENCODER_ERROR. */
    int (*transmit)(void *ctx, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_max,
                    size_t *ret_resp_len);
    /* Release everything; ctx may be NULL. */
    void (*close)(void *ctx);
};

struct encoder_transport {
    const struct encoder_transport_ops *ops;
    void *ctx;
    char name[64];
};

void encoder_transport_close(struct encoder_transport *t); /* accepts NULL; frees t */

/* In-process simulated social security card (SSSE file system, access conditions).
 * fault_permille: chance per card of a write failure (status 6581) that spoils the card. */
struct encoder_sim_config {
    uint8_t master_key[16]; /* the issuer master key the simulated card was "manufactured" with */
    unsigned fault_permille;
    unsigned seed;
    unsigned card_ms; /* simulated time per personalisation, 0 = instant */
};
int encoder_open_sim(const struct encoder_sim_config *cfg, struct encoder_transport **ret);

/* Key service: computes the external-authentication cryptogram for a card challenge.
 * Keys stay inside the service. */
struct encoder_key_service;
/* Software key service (SM4) for demo and tests: the key is derived from the given 16-byte master. */
int encoder_key_service_soft_new(const uint8_t master[16], struct encoder_key_service **ret);
void encoder_key_service_free(struct encoder_key_service *ks);

/* What goes into EF05 / EF06. Strings are UTF-8 / ASCII as noted. */
struct encoder_card_data {
    char region_code[7];      /* 6 digits, e.g. "440100" */
    char card_type;           /* '3' = social security card */
    char spec_version[5];     /* "3.00" */
    char card_number[10];     /* 9 characters */
    char issue_date[9];       /* YYYYMMDD */
    char expiry_date[9];      /* YYYYMMDD */
    char ssn[19];             /* 18 characters */
    const char *name;         /* UTF-8 */
    char sex;                 /* '1' male, '2' female */
    unsigned ethnicity;       /* GB 3304 code, 1..99 */
    char birth_place[7];      /* 6-digit region code */
    char birth_date[9];       /* YYYYMMDD */
};

/* Whether the data can be written to the chip (every field's format, the name in GBK within the name field plus
 * extension record) before any card is spent on it. Returns 0, ENCODER_ERROR_INVALID or ENCODER_ERROR_ENCODING
 * with the field or the offending character named in cause (never a personal value). */
int encoder_check_card_data(const struct encoder_card_data *data, char *cause, size_t cause_size);

struct encoder_result {
    char atr_hex[67];
    char card_id_hex[33]; /* card identifier (EF05 tag 01) as read from the card */
    char cause[128];      /* on failure: what went wrong, for the operator */
};

/* Personalise the card in the station: reset, select SSSE, authenticate, write EF05/EF06, read every record back
 * and compare byte for byte. Returns 0 when the card is good, else an ENCODER_ERROR (cause in ret->cause). */
int encoder_personalize(struct encoder_transport *t, struct encoder_key_service *ks,
                        const struct encoder_card_data *data, struct encoder_result *ret);
