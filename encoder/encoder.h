/* encoder.h — chip personalisation of the social security application (public interface of the encoder
 * library) */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum encoder_error {
    ENCODER_ERROR_INVALID = -1, /* bad argument */
    ENCODER_ERROR_NOMEM = -2,
    ENCODER_ERROR_TRANSPORT = -3,  /* reader/card communication failed */
    ENCODER_ERROR_NO_CARD = -4,    /* no card in the station or card removed */
    ENCODER_ERROR_NOT_SSC = -5,    /* the SSSE application is not on this card */
    ENCODER_ERROR_AUTH = -6,       /* external authentication refused */
    ENCODER_ERROR_WRITE = -7,      /* the card refused or failed a write */
    ENCODER_ERROR_READBACK = -8,   /* a record read back differs from what was written */
    ENCODER_ERROR_ENCODING = -9,   /* a field cannot be encoded (e.g. a name character outside GBK) */
    ENCODER_ERROR_STATUS = -10,    /* unexpected status word */
    ENCODER_ERROR_KEY = -11,       /* key service failure */
    ENCODER_ERROR_TIMEOUT = -12,   /* the card or reader did not answer in time */
    ENCODER_ERROR_ATR = -13,       /* the card's ATR is not on the station's allow-list */
    ENCODER_ERROR_NO_READER = -14, /* the reader is not there, or the PC/SC service is not running */
    ENCODER_ERROR_PIN = -15,       /* the social security PIN could not be set or does not verify */
};

const char *encoder_strerror(int err);

/* One command and its answer, for transports that take several at once. */
#define ENCODER_EXCHANGE_RESP_MAX 258
struct encoder_exchange {
    const uint8_t *apdu;
    size_t apdu_len;
    uint8_t resp[ENCODER_EXCHANGE_RESP_MAX]; /* data + SW1 SW2 */
    size_t resp_len;
};

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
    /* Optional (may be NULL): power the card down at the end of a cycle. Returns 0 or an ENCODER_ERROR. */
    int (*power_off)(void *ctx);
    /* Optional (may be NULL): exchange count commands in order in one go, for transports where handing over
     * each command is costly. Stops after the first answer whose status word is not 90 00 (its answer is
     * kept); *ret_done gets the number of commands answered. Returns 0, or an ENCODER_ERROR for command
     * *ret_done. */
    int (*transmit_many)(void *ctx, struct encoder_exchange *x, size_t count, size_t *ret_done);
};

struct encoder_atr_allowlist;

struct encoder_transport {
    const struct encoder_transport_ops *ops;
    void *ctx;
    char name[64];
    /* What the transport last failed on, in words (e.g. "SCardTransmit: Card was removed."); "" when none.
     * Written by transports, read by the personaliser to name the cause. */
    char last_error[128];
    struct encoder_atr_allowlist *atr_allow; /* NULL: any well-formed ATR; owned, freed with the transport */
};

void encoder_transport_close(struct encoder_transport *t); /* accepts NULL; frees t */

/* ATR allow-list of a station: which cards it accepts. list holds entries separated by ',', ';' or newlines;
 * each entry is an ATR in hex (spaces and ':' allowed), optionally followed by '/' and a mask of the same
 * length (a bit set in the mask must match), e.g. "3B6C0000806411650190730000008107" or
 * "3B:6C:00:00:80:64:11:65:00:00:00:00:00:00:00:00/FF:FF:FF:FF:FF:FF:FF:FF:00:00:00:00:00:00:00:00".
 * At most ENCODER_ATR_ALLOW_MAX entries. Replaces the transport's list; NULL or "" removes it.
 * Returns 0, ENCODER_ERROR_INVALID (cause names the bad entry, when cause is not NULL) or _NOMEM. */
#define ENCODER_ATR_ALLOW_MAX 32
int encoder_transport_set_atr_allowlist(struct encoder_transport *t, const char *list, char *cause,
                                        size_t cause_size);
/* Whether atr is acceptable on this transport (true when it has no list). */
int encoder_atr_allowed(const struct encoder_transport *t, const uint8_t *atr, size_t atr_len);

/* In-process simulated social security card (SSSE file system, access conditions).
 * fault_permille: chance per card of a write failure (status 6581) that spoils the card. */
struct encoder_sim_config {
    uint8_t master_key[16]; /* the issuer master key the simulated card was "manufactured" with */
    unsigned fault_permille;
    unsigned seed;
    unsigned card_ms; /* simulated time per personalisation, 0 = instant */
};
int encoder_open_sim(const struct encoder_sim_config *cfg, struct encoder_transport **ret);

/* PC/SC encoder station: a contact reader behind pcscd. Every PC/SC call runs on a worker thread of the
 * transport so that the caller waits at most the configured time even when a card or driver never answers;
 * after such a timeout the transport refuses work until the stuck call has returned. */
#define ENCODER_READER_NAME_MAX 128
struct encoder_pcsc_config {
    const char *reader;       /* reader name; exact, else the one reader whose name starts with it */
    unsigned card_wait_ms;    /* how long reset waits for a card in the reader (0 = 2000) */
    unsigned apdu_timeout_ms; /* longest time one command may take (0 = 5000) */
};
int encoder_open_pcsc(const struct encoder_pcsc_config *cfg, struct encoder_transport **ret);

/* Open a station from its configuration string: "sim" (in-process simulated card, sim must not be NULL) or
 * "pcsc:<reader name>". Returns 0 or an ENCODER_ERROR; *ret untouched on failure. */
int encoder_open_spec(const char *spec, const struct encoder_sim_config *sim, struct encoder_transport **ret);

/* The PC/SC readers there are, with whether a card is in each (for `cardline devices`, `cardline chip`). */
struct encoder_reader_info {
    char name[ENCODER_READER_NAME_MAX];
    int card_present; /* 1 when a card is in the reader */
    char atr_hex[67]; /* the card's ATR when present, else "" */
};
/* Fills at most max entries; *ret_count gets the number of readers found (may exceed max).
 * Returns 0 (also with no readers), ENCODER_ERROR_NO_READER when pcscd is not running, or another error. */
int encoder_pcsc_list_readers(struct encoder_reader_info *readers, size_t max, size_t *ret_count);

/* Key service: computes the external-authentication cryptogram for a card challenge.
 * Keys stay inside the service. */
struct encoder_key_service;
/* Software key service (SM4) for demo and tests: the key is derived from the given 16-byte master.
 * Thread-safe: one service may serve several lines. */
int encoder_key_service_soft_new(const uint8_t master[16], struct encoder_key_service **ret);
/* Software key service reading the master from a file (32 hex digits) each time it is needed, so the key is
 * in memory only while a cryptogram is computed. The file must not be readable by group or others. */
int encoder_key_service_soft_file_new(const char *path, struct encoder_key_service **ret);
/* The issuer's PSAM in a PC/SC reader computes the cryptogram; the master key never leaves it. Thread-safe
 * (one command at a time); one process should hold the PSAM reader. */
int encoder_key_service_psam_new(const char *reader, struct encoder_key_service **ret);
/* "soft:<path of the hex key file>" or "psam:<reader name>". Returns 0 or an ENCODER_ERROR. */
int encoder_key_service_open_spec(const char *spec, struct encoder_key_service **ret);
void encoder_key_service_free(struct encoder_key_service *ks);

/* What goes into EF05 / EF06. Strings are UTF-8 / ASCII as noted. */
struct encoder_card_data {
    char region_code[7];  /* 6 digits, e.g. "440100" */
    char card_type;       /* '3' = social security card */
    char spec_version[5]; /* "3.00" */
    char card_number[10]; /* 9 characters */
    char issue_date[9];   /* YYYYMMDD */
    char expiry_date[9];  /* YYYYMMDD */
    char ssn[19];         /* 18 characters */
    const char *name;     /* UTF-8 */
    char sex;             /* '1' male, '2' female */
    unsigned ethnicity;   /* GB 3304 code, 1..99 */
    char birth_place[7];  /* 6-digit region code */
    char birth_date[9];   /* YYYYMMDD */
    char initial_pin[13]; /* social security PIN set at issue, 6 digits; "" = "123456" */
};

/* Whether the data can be written to the chip (every field's format, the name in GBK within the name field
 * plus extension record) before any card is spent on it. Returns 0, ENCODER_ERROR_INVALID or
 * ENCODER_ERROR_ENCODING with the field or the offending character named in cause (never a personal value).
 */
int encoder_check_card_data(const struct encoder_card_data *data, char *cause, size_t cause_size);

struct encoder_result {
    char atr_hex[67];
    char card_id_hex[33]; /* card identifier (EF05 tag 01) as read from the card */
    char cause[192];      /* on failure: what went wrong, for the operator */
};

/* Personalise the card in the station: reset, select SSSE, authenticate, write EF05/EF06, read every record
 * back and compare byte for byte. Returns 0 when the card is good, else an ENCODER_ERROR (cause in
 * ret->cause). */
int encoder_personalize(struct encoder_transport *t, struct encoder_key_service *ks,
                        const struct encoder_card_data *data, struct encoder_result *ret);

/* What a card holds (EF05/EF06), decoded, for `cardline chip read`. Fields the card lacks are "". */
struct encoder_card_info {
    char atr_hex[67];
    char card_id_hex[33];
    char card_type[2];
    char spec_version[5];
    char issuer[13];    /* initialising organisation */
    char issue_date[9]; /* YYYYMMDD */
    char expiry_date[9];
    char card_number[10];
    char ssn[19];
    char name[271]; /* UTF-8 of up to 90 GBK bytes (field 09 + extension 4E) */
    char sex[2];
    char ethnicity[3];
    char birth_place[7];
    char birth_date[9];
    char cause[192]; /* on failure: what went wrong */
};
/* Reset the card, select the SSSE application and read every record. Returns 0 or an ENCODER_ERROR (cause in
 * ret->cause; ret is always written). */
int encoder_read_card(struct encoder_transport *t, struct encoder_card_info *ret);
