/* encoder.h — chip personalisation of the social security application (public interface of the encoder
 * library) */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Error codes: negative, in the encoder library's own range (printer -1100.., photo -1200.., encoder -1300..,
 * producer -1400..), so a code means one thing everywhere. */
#define ENCODER_ERROR_RANGE_MAX (-1300)
#define ENCODER_ERROR_RANGE_MIN (-1399)
enum encoder_error {
    ENCODER_ERROR_INVALID = -1301, /* bad argument */
    ENCODER_ERROR_NOMEM = -1302,
    ENCODER_ERROR_TRANSPORT = -1303, /* reader/card communication failed */
    ENCODER_ERROR_NO_CARD = -1304,   /* no card in the station or card removed */
    ENCODER_ERROR_NOT_SSC = -1305,   /* the SSSE application is not on this card */
    ENCODER_ERROR_AUTH = -1306,      /* external authentication refused */
    ENCODER_ERROR_WRITE = -1307,     /* the card refused or failed a write */
    ENCODER_ERROR_READBACK = -1308,  /* a record read back differs from what was written */
    ENCODER_ERROR_ENCODING = -1309,  /* a field cannot be encoded (e.g. a name character outside GBK) */
    ENCODER_ERROR_STATUS = -1310,    /* unexpected status word */
    ENCODER_ERROR_KEY = -1311,       /* key service failure */
    ENCODER_ERROR_TIMEOUT = -1312,   /* the card or reader did not answer in time */
    ENCODER_ERROR_ATR = -1313,       /* the card's ATR is not on the station's allow-list */
    ENCODER_ERROR_NO_READER = -1314, /* the reader is not there, or the PC/SC service is not running */
    ENCODER_ERROR_PIN = -1315,       /* the social security PIN could not be set or does not verify */
    ENCODER_ERROR_BLANK = -1316, /* the blank's manufacturer data (EF05 01-04) is not what the bureau buys */
    ENCODER_ERROR_BLOCKED = -1317,     /* the SSSE application is blocked (SELECT answers 9303) */
    ENCODER_ERROR_NOT_GENUINE = -1318, /* the card failed INTERNAL AUTHENTICATE: not a genuine card of ours */
    ENCODER_ERROR_BANK_DATA = -1319,   /* the bank's data file is malformed (cause: line, field) */
    ENCODER_ERROR_CRYPTOGRAM = -1320,  /* SCP02: the card's cryptogram is wrong (wrong keys, not ours) */
    ENCODER_ERROR_NOT_BANK = -1321,    /* the bank application (the data's AID) is not on this card */
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
    /* Optional (may be NULL): like reset, but for a second application of the card already in the station
     * (the bank application after the social security one): the card stays. Only transports whose reset may
     * bring another card need it (the simulated station puts a fresh blank in for every reset); the others
     * leave it NULL and reset is used. */
    int (*reset_same_card)(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len);
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

/* In-process simulated social security card (SSSE file system, access conditions) with the bank's UnionPay
 * application (AID A000000333010101, SCP02 i=55, key version 20, STORE DATA, PPSE, GET PROCESSING OPTIONS,
 * READ RECORD). Every reset puts a fresh blank in the station; reset_same_card (what the bank application's
 * functions use) keeps the card that is there.
 * fault_permille: chance per card of a write failure (status 6581) that spoils the card. */
struct encoder_sim_config {
    uint8_t master_key[16]; /* the issuer master key the simulated card was "manufactured" with; also the
                               KMC its bank application's SCP02 keys are diversified from (EMV CPS) */
    unsigned fault_permille;
    unsigned seed;
    unsigned card_ms; /* simulated time per personalisation, 0 = instant */
    /* chance per card (0..1000) that its bank application was made with another key set: its SCP02
     * cryptogram does not verify (ENCODER_ERROR_CRYPTOGRAM). Drawn from a random stream of its own, so the
     * social security faults of a seed stay where they were. */
    unsigned scp02_fault_permille;
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

/* Key service: the terminal side of the SSC key exchange (人社信息函[2016]38号 / LD/T 33-2015 "HSM Step1/
 * Step2"): the terminal hands over what identifies the card (region, ATR historical bytes, algorithm, card
 * identifier) and the card's randoms; the service answers what goes to the card. Keys stay inside it. */
struct encoder_key_service;

/* Algorithm flag of the SSSE FCI (9F0C tag 86). */
#define ENCODER_ALG_3DES  0x01
#define ENCODER_ALG_SSF33 0x02 /* not supported: no public SSF33 implementation */
#define ENCODER_ALG_SM4   0x03

/* Key roles of the SSSE application (the card keys; the service holds the roots they are dispersed from). */
enum encoder_key_role {
    ENCODER_KEY_IRK,     /* internal authentication: proves the card genuine */
    ENCODER_KEY_UKSSSE,  /* external authentication before writing EF05/EF06 (card key id 04) */
    ENCODER_KEY_RKSSSE,  /* external authentication before reading EF06 on 3.0 cards (card key id 0A) */
    ENCODER_KEY_PUK,     /* external authentication before a PIN unblock/reset (card key id 06) */
    ENCODER_KEY_STKSSSE, /* application maintenance: MACs of 84 24 / 84 1E, PIN encryption */
};

/* What the terminal tells the service about one card. */
struct encoder_card_ref {
    char region[7];      /* 6 digits: the card identifier's first 3 BCD bytes */
    uint8_t atr_hist[8]; /* ATR historical bytes T6..T13 (manufacturer, region, card serial) */
    uint8_t alg;         /* ENCODER_ALG_3DES or ENCODER_ALG_SM4 */
    uint8_t card_id[16]; /* EF05 record 01 */
};

/* Authentication data for the card key of role, dispersed for ref: process is the random that makes the
 * session key (for EXTERNAL AUTHENTICATE the card's latest challenge), original the data authenticated.
 * ret_auth gets the 8 bytes the card gives (INTERNAL) or expects (EXTERNAL). Returns 0 or an ENCODER_ERROR.
 */
int encoder_key_service_auth(struct encoder_key_service *ks, const struct encoder_card_ref *ref,
                             enum encoder_key_role role, const uint8_t process[8], const uint8_t original[8],
                             uint8_t ret_auth[8]);
/* The 4-byte MAC of a secure-messaging command (data = CLA INS P1 P2 Lc and the command data before the
 * MAC) with the session key that the card's challenge makes from the card key of role. */
int encoder_key_service_mac(struct encoder_key_service *ks, const struct encoder_card_ref *ref,
                            enum encoder_key_role role, const uint8_t challenge[8], const uint8_t *data,
                            size_t len, uint8_t ret_mac[4]);
/* A PIN (4..12 digits) enciphered for 84 24 00 01 under the STKSSSE session key of challenge: 8 bytes (3DES)
 * or 16 (SM4) into ret_block (16 bytes), *ret_len set. */
int encoder_key_service_pin_block(struct encoder_key_service *ks, const struct encoder_card_ref *ref,
                                  const uint8_t challenge[8], const char *pin, uint8_t ret_block[16],
                                  size_t *ret_len);

/* Software key service for demo and tests: the 16-byte root key stands for the national root of every key
 * role (a test set-up; a bureau's roots are separate and in its HSM). Thread-safe. */
int encoder_key_service_soft_new(const uint8_t master[16], struct encoder_key_service **ret);
/* Software key service reading the root from a file (32 hex digits) each time it is needed, so the key is
 * in memory only while a cryptogram is computed. The file must not be readable by group or others. */
int encoder_key_service_soft_file_new(const char *path, struct encoder_key_service **ret);
/* The issuer's social security PSAM in a PC/SC reader (BF EC / BF DE / 80 FA); the roots never leave it.
 * Thread-safe (one command sequence at a time); one process should hold the PSAM reader. */
int encoder_key_service_psam_new(const char *reader, struct encoder_key_service **ret);
/* "soft:<path of the hex key file>" or "psam:<reader name>". Returns 0 or an ENCODER_ERROR. */
int encoder_key_service_open_spec(const char *spec, struct encoder_key_service **ret);
/* Why a key service spec cannot be used, in words an operator can act on ("key file /etc/k: readable by group
 * or others (mode 0644): chmod 600 it"), without opening a reader: a soft key file is checked for existence,
 * type, mode and content; a psam: spec only for its form. Returns 0 (usable as far as can be told) or an
 * ENCODER_ERROR with why filled. The key itself is never copied into why. */
int encoder_key_service_explain(const char *spec, char *why, size_t why_size);
/* Read a 16-byte key written as 32 hex digits (surrounding white space allowed) from a file readable by its
 * owner only (a soft key service's root; the simulated cards of a run are "made" with it). Returns 0,
 * ENCODER_ERROR_KEY or _INVALID; ret_key untouched on failure. */
int encoder_key_file_read(const char *path, uint8_t ret_key[16]);
void encoder_key_service_free(struct encoder_key_service *ks);

/* What goes into EF05 / EF06. Strings are UTF-8 / ASCII as noted. */
struct encoder_card_data {
    char region_code[7];  /* 6 digits, e.g. "440100": the bureau's region */
    char card_type;       /* the blank's card type (EF05 02) the bureau buys, checked, never written: '3' */
    char spec_version[5]; /* the blank's spec version (EF05 03) the bureau buys, checked: "3.00" */
    char card_number[10]; /* 9 characters */
    char issue_date[9];   /* YYYYMMDD */
    char expiry_date[9];  /* YYYYMMDD */
    char ssn[19];         /* 18 characters */
    const char *name;     /* UTF-8 */
    char sex;             /* '1' male, '2' female, '9' unspecified (GB 2261.1) */
    unsigned ethnicity;   /* GB 3304 code, 1..99 */
    char birth_place[7];  /* 6-digit region code */
    char birth_date[9];   /* YYYYMMDD */
    char initial_pin[13]; /* the maker's initial PIN the blank carries, verified; "" = "123456" */
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
    int data_written;     /* 1 when a write reached the card (the card holds personal data) */
    int blocked;          /* 1 when the failed card was blocked (APPLICATION BLOCK) and reads back blocked */
};

/* Personalise the card in the station: reset, select SSSE (algorithm from the FCI), check the maker's EF05
 * 01-04, INTERNAL AUTHENTICATE (the card is genuine), EXTERNAL AUTHENTICATE with UKSSSE, write EF05 05-07 and
 * EF06 01-07 at their full lengths, read every record back and compare byte for byte, VERIFY the maker's
 * initial PIN. A card that fails after data reached it is blocked before it leaves the station. Returns 0
 * when the card is good, else an ENCODER_ERROR (cause in ret->cause). */
int encoder_personalize(struct encoder_transport *t, struct encoder_key_service *ks,
                        const struct encoder_card_data *data, struct encoder_result *ret);

/* What a card holds (EF05/EF06), decoded, for `cardline chip read`. Fields the card lacks are "". */
struct encoder_card_info {
    char atr_hex[67];
    char card_id_hex[33];
    char card_type[2];
    char spec_version[5];
    char issuer[25];    /* initialising organisation, 24 digits (EF05 04, cn) */
    char issue_date[9]; /* YYYYMMDD */
    char expiry_date[9];
    char card_number[10];
    char ssn[19];
    char name[271]; /* UTF-8 of up to 50 GBK bytes (record 09 + extension 4E) */
    char sex[2];
    char ethnicity[3];
    char birth_place[7];
    char birth_date[9];
    char cause[192]; /* on failure: what went wrong */
};
/* Reset the card, select the SSSE application and read every record. Third-generation cards (spec version
 * 3.00 and later) guard EF06 with the read key RKSSSE: encoder_read_card_keys authenticates with it through
 * ks; without a key service such a card fails with ENCODER_ERROR_AUTH after its EF05 01-04 are filled in.
 * Returns 0 or an ENCODER_ERROR (cause in ret->cause; ret is always written). */
int encoder_read_card(struct encoder_transport *t, struct encoder_card_info *ret);
int encoder_read_card_keys(struct encoder_transport *t, struct encoder_key_service *ks,
                           struct encoder_card_info *ret);

/* Block the SSSE application of the card in the station (APPLICATION BLOCK 84 1E 00 01 04 <MAC>, MAC from
 * the key service) and read the block back (SELECT answers 9303). Returns 0 when the card reads back
 * blocked, else an ENCODER_ERROR (cause in ret->cause). */
int encoder_block_card(struct encoder_transport *t, struct encoder_key_service *ks,
                       struct encoder_result *ret);

/* Unblock the holder's PIN at a counter: PUK external authentication, then 84 24 00 00 (reset the try
 * counter) or, with new_pin, 84 24 00 01 (reset and replace the PIN), MACs from the key service. expect_ssn
 * (when not NULL) must equal the card's EF06 social security number, checked before anything is changed.
 * Returns 0 or an ENCODER_ERROR (cause in ret->cause). */
int encoder_unblock_pin(struct encoder_transport *t, struct encoder_key_service *ks, const char *expect_ssn,
                        const char *new_pin, struct encoder_result *ret);

/* ---- the bank (financial, PBOC/UnionPay) application (bank.c, scp02.c) ----
 * The bank's data-preparation output for one card (the file format is in the README, "Attaching the bank's
 * data"), loaded over GlobalPlatform SCP02 with STORE DATA, then read back as a payment terminal reads it. */
struct encoder_bank_data;

/* Parse one card's bank data (len bytes of text, not NUL-terminated). Strict: every line, field and DGI is
 * checked before any card is touched; on ENCODER_ERROR_BANK_DATA cause names the line, the field and the
 * problem (never a value: the account number is personal data). Returns 0, _BANK_DATA or _NOMEM. */
int encoder_bank_data_parse(const char *text, size_t len, struct encoder_bank_data **ret, char *cause,
                            size_t cause_size);
void encoder_bank_data_free(struct encoder_bank_data *d); /* accepts NULL; wipes the data */

/* What the line needs to know of a card's bank data without the data itself. */
struct encoder_bank_summary {
    char aid_hex[33];         /* the application's AID */
    char pan_masked[20];      /* first 6 and last 4 digits, the rest '*' */
    char expiry[7];           /* YYMMDD (tag 5F24) */
    char transport_key[33];   /* the label of the transport key the sensitive DGIs are encrypted under */
    unsigned dgi_count;       /* DGIs to store */
    unsigned sensitive_count; /* of which encrypted under the transport key */
    int has_stripe;           /* 1 when the data carries magnetic stripe tracks */
    char application[65];     /* APPLICATION: the cardline application's upstream id the data is for */
    char bank[61];            /* BANK: the cooperating bank's name (UTF-8) as in cardline's bank list */
};
int encoder_bank_data_summary(const struct encoder_bank_data *d, struct encoder_bank_summary *ret);
/* Magnetic stripe track n (1..3) as ISO/IEC 7813 characters without sentinels ("" when the data has none).
 * Returns 0 or ENCODER_ERROR_INVALID (n out of range, out too small). */
int encoder_bank_data_stripe(const struct encoder_bank_data *d, int track, char *out, size_t out_size);

struct encoder_bank_result {
    char atr_hex[67];
    char pan_masked[20];        /* the account number as the card answers it, masked; "" when not read */
    char cause[192];            /* on failure: what went wrong (never the account number) */
    int data_written;           /* 1 when a STORE DATA reached the card */
    unsigned store_data_blocks; /* STORE DATA commands the card accepted */
    unsigned records_read;      /* records read back per the AFL */
};

/* Personalise the bank application of the card in the station and prove it: reset, SELECT the data's AID,
 * SCP02 (INITIALIZE UPDATE, the card's cryptogram checked by the key service before anything else, EXTERNAL
 * AUTHENTICATE with C-MAC), STORE DATA of every DGI under C-MAC (sensitive DGIs re-encrypted from the
 * transport key to the session DEK inside the key service), then encoder_bank_read. Returns 0 when the card
 * is good, else an ENCODER_ERROR with ret->cause. */
int encoder_bank_personalize(struct encoder_transport *t, struct encoder_key_service *ks,
                             const struct encoder_bank_data *data, struct encoder_bank_result *ret);
/* Read the card as a payment terminal does: reset, SELECT 2PAY.SYS.DDF01 (PPSE; else 1PAY.SYS.DDF01, PSE),
 * SELECT the UnionPay application it lists, GET PROCESSING OPTIONS with the PDOL filled, READ RECORD per the
 * AFL; the account number (5A) must pass Luhn and, with expect, equal the data's, as must the expiry (5F24)
 * and the track 2 equivalent (57). expect may be NULL (read and check Luhn only). */
int encoder_bank_read(struct encoder_transport *t, const struct encoder_bank_data *expect,
                      struct encoder_bank_result *ret);

/* Key service operations of the bank application (GlobalPlatform SCP02, i=55; see scp02.c). The card's
 * static keys (ENC, MAC, DEK) and the transport keys stay inside the service: the encoder hands over what
 * the card answered to INITIALIZE UPDATE and gets cryptograms, MACs and re-encrypted data back. */
struct encoder_scp02_ref {
    uint8_t kdd[10]; /* key diversification data (INITIALIZE UPDATE response bytes 0..9) */
    uint8_t kv;      /* key version number the card used */
    uint8_t seq[2];  /* sequence counter */
};
/* Check the card's cryptogram over host challenge || sequence counter || card challenge (ENCODER_ERROR_
 * CRYPTOGRAM when it differs: nothing is computed for a card that did not prove its keys) and return the
 * host cryptogram over sequence counter || card challenge || host challenge. */
int encoder_key_service_scp02_auth(struct encoder_key_service *ks, const struct encoder_scp02_ref *ref,
                                   const uint8_t host_challenge[8], const uint8_t card_challenge[6],
                                   const uint8_t card_cryptogram[8], uint8_t ret_host_cryptogram[8]);
/* C-MAC (8 bytes) of a command as modified for secure messaging (CLA with bit 3 set, Lc counting the MAC),
 * chained: prev_mac is the previous command's C-MAC (NULL for EXTERNAL AUTHENTICATE: ICV zero), which the
 * service encrypts to make the ICV. */
int encoder_key_service_scp02_cmac(struct encoder_key_service *ks, const struct encoder_scp02_ref *ref,
                                   const uint8_t *prev_mac, const uint8_t *data, size_t len,
                                   uint8_t ret_mac[8]);
/* Re-encrypt a sensitive DGI's data (len a multiple of 8, at most 1024) from the transport key labelled
 * transport_key (checked against its 3-byte check value kcv) to the session DEK (3DES-ECB), clear data only
 * inside the service. With key_kcvs (n_kcv check values of 3 bytes, e.g. DGI 9000 for DGI 8000) the clear
 * data must be n_kcv 16-byte keys with exactly these check values. Returns 0, ENCODER_ERROR_KEY (unknown
 * transport key, check value mismatch; cause says which when not NULL) or _INVALID. */
int encoder_key_service_scp02_rewrap(struct encoder_key_service *ks, const struct encoder_scp02_ref *ref,
                                     const char *transport_key, const uint8_t kcv[3], const uint8_t *key_kcvs,
                                     size_t n_kcv, const uint8_t *in, size_t len, uint8_t *out, char *cause,
                                     size_t cause_size);
