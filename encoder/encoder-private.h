/* encoder-private.h — declarations shared inside the encoder library and with its unit tests */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encoder.h"

/* ---- APDU codecs (apdu.c): bytes in, bytes out, no I/O ---- */

#define ENCODER_APDU_MAX 261 /* CLA INS P1 P2 Lc 255 bytes Le */
#define ENCODER_RESP_MAX 258 /* 256 data bytes + SW1 SW2 */
#define ENCODER_ATR_MAX  33
_Static_assert(ENCODER_EXCHANGE_RESP_MAX == ENCODER_RESP_MAX, "one response size");

/* A short command APDU. Case 1: lc = 0, no le; case 2: le only; case 3: data only; case 4: both. */
struct encoder_apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* lc bytes; for a parsed APDU it points into the parsed buffer */
    size_t lc;           /* 0..255 */
    bool has_le;
    size_t le; /* 1..256; 256 is encoded as 00 */
};

/* Serialise; returns 0 or ENCODER_ERROR_INVALID (bad lengths, buffer too small). */
int encoder_apdu_build(const struct encoder_apdu *apdu, uint8_t *out, size_t out_max, size_t *ret_len);
/* Parse a short command APDU (cases 1-4); ret->data points into buf. Returns 0 or ENCODER_ERROR_INVALID. */
int encoder_apdu_parse(const uint8_t *buf, size_t len, struct encoder_apdu *ret);
/* Split a response into data and status word. Returns 0 or ENCODER_ERROR_TRANSPORT (shorter than SW1 SW2). */
int encoder_response_parse(const uint8_t *resp, size_t len, const uint8_t **ret_data, size_t *ret_data_len,
                           uint16_t *ret_sw);

/* The builders the card operations use, exposed for byte-exact tests. */
int encoder_apdu_select_aid(const uint8_t *aid, size_t aid_len, uint8_t *out, size_t out_max,
                            size_t *ret_len);
int encoder_apdu_select_ef(uint8_t p1, uint16_t fid, uint8_t *out, size_t out_max, size_t *ret_len);

/* Status word -> 0 (9000) or an ENCODER_ERROR code; and a short English meaning ("memory failure"). */
int encoder_sw_to_error(uint16_t sw);
const char *encoder_sw_describe(uint16_t sw);

/* Simple TLV as used by SSSE records: tag 1 byte, length 1 byte (or 81 xx). */
int encoder_tlv_build(uint8_t tag, const uint8_t *value, size_t value_len, uint8_t *out, size_t out_max,
                      size_t *ret_len);
/* Parse one TLV at the start of buf; *ret_value points into buf. Returns 0 or ENCODER_ERROR_INVALID when
 * the input is truncated or uses a length form other than 1 byte / 81 xx. */
int encoder_tlv_parse(const uint8_t *buf, size_t len, uint8_t *ret_tag, const uint8_t **ret_value,
                      size_t *ret_value_len, size_t *ret_consumed);

/* cn: decimal digits as BCD, right-padded with F to exactly out_len bytes.
 * an: ASCII (printable) right-padded with 00 to exactly out_len bytes.
 * Both return 0 or ENCODER_ERROR_ENCODING (wrong characters, too long); out is untouched on failure. */
int encoder_cn_encode(const char *digits, uint8_t *out, size_t out_len);
int encoder_an_encode(const char *text, uint8_t *out, size_t out_len);

/* UTF-8 -> GBK through iconv (opened per call: iconv_t must not be shared between threads).
 * On ENCODER_ERROR_ENCODING, cause (when not NULL) names the character, e.g. "character '𠀀' (U+20000) ...".
 */
int encoder_utf8_to_gbk(const char *utf8, uint8_t *out, size_t out_max, size_t *ret_len, char *cause,
                        size_t cause_max);

/* Name fields: tag 09 holds 30 bytes GBK 00-padded; what does not fit (cut on a character boundary) goes to
 * the name-extension record 4E, whose value is at most ENCODER_NAME_EXT_MAX bytes. */
#define ENCODER_NAME_FIELD_LEN 30
#define ENCODER_NAME_EXT_MAX   60
/* Longest prefix of a GBK string that fits in max bytes without splitting a double-byte character. */
size_t encoder_gbk_prefix(const uint8_t *gbk, size_t len, size_t max);
/* Encode a UTF-8 name: ret_field09 gets the 30-byte field, ext the remainder (*ret_ext_len = 0 when none). */
int encoder_name_encode(const char *utf8, uint8_t ret_field09[ENCODER_NAME_FIELD_LEN],
                        uint8_t ext[ENCODER_NAME_EXT_MAX], size_t *ret_ext_len, char *cause,
                        size_t cause_max);

/* The value of one hex digit, or -1. */
int encoder_hex_value(int c);
/* Hex bytes from s[0..len), separators ' ', ':' and tab between bytes allowed. Returns the byte count or -1. */
int encoder_hex_parse(const char *s, size_t len, uint8_t *out, size_t out_max);

/* Upper-case hex without separators; out must hold 2 * len + 1. Returns 0 or ENCODER_ERROR_INVALID. */
int encoder_hex(const uint8_t *bytes, size_t len, char *out, size_t out_max);

/* ---- transport helper (transport.c) ---- */

/* Transmit one APDU; answers 61xx with GET RESPONSE (00 C0 00 00 xx, data accumulated) and 6Cxx by resending
 * with Le = xx, so the caller sees the final data + SW1 SW2. Returns 0 or an ENCODER_ERROR. */
int encoder_transport_transmit(struct encoder_transport *t, const uint8_t *apdu, size_t apdu_len,
                               uint8_t *resp, size_t resp_max, size_t *ret_resp_len);

/* Exchange count commands in order, each answer completed as above (61xx/6Cxx), stopping after the first
 * whose final status word is not 90 00; *ret_done gets how many were answered. Uses the transport's
 * transmit_many when it has one (one hand-over for many commands), else one command at a time. Returns 0 or
 * an ENCODER_ERROR for command *ret_done. */
#define ENCODER_BATCH_MAX 32
int encoder_transport_transmit_many(struct encoder_transport *t, struct encoder_exchange *x, size_t count,
                                    size_t *ret_done);

/* ---- card operations (ssse.c), after OpenSC's sc_card_operations ---- */

struct encoder_card_batch;

struct encoder_card {
    struct encoder_transport *t;
    const struct encoder_card_ops *ops;
    uint16_t sw; /* status word of the last command answered by the card (0 when none) */
    /* When not NULL, operations that return no data are queued here instead of sent (ssse.c sends them
     * together and reports the first that failed); operations are unchanged. */
    struct encoder_card_batch *batch;
};

/* Every operation returns 0 when the card answered 9000. When the card answered another status word it is
 * left in card->sw and the return is encoder_sw_to_error(sw); transport failures return their own code. */
struct encoder_card_ops {
    /* SELECT an application (DF) by name. */
    int (*select_aid)(struct encoder_card *card, const uint8_t *aid, size_t aid_len);
    /* SELECT an elementary file of the current application by its file identifier. */
    int (*select_ef)(struct encoder_card *card, uint16_t fid);
    /* READ RECORD rec of the current EF into buf; *ret_len gets the record length. */
    int (*read_record)(struct encoder_card *card, uint8_t rec, uint8_t *buf, size_t buf_max, size_t *ret_len);
    /* UPDATE RECORD rec of the current EF with data (the whole TLV). */
    int (*update_record)(struct encoder_card *card, uint8_t rec, const uint8_t *data, size_t len);
    /* GET CHALLENGE of len bytes (1..255) into buf. */
    int (*get_challenge)(struct encoder_card *card, uint8_t *buf, size_t len);
    /* EXTERNAL AUTHENTICATE with key key_id and the key service's cryptogram. */
    int (*external_authenticate)(struct encoder_card *card, uint8_t key_id, const uint8_t *cryptogram,
                                 size_t len);
    /* VERIFY a PIN given as decimal digits; on a wrong PIN (63Cx) *tries_left (when not NULL) gets x. */
    int (*verify_pin)(struct encoder_card *card, const char *pin, int *tries_left);
    /* Set a new PIN and a full retry counter (RESET RETRY COUNTER with new reference data); needs the
     * issuer's external authentication first. */
    int (*set_pin)(struct encoder_card *card, const char *pin);
};

const struct encoder_card_ops *encoder_iso7816_ops(void);
const struct encoder_card_ops *encoder_ssse_ops(void);

/* The SSSE application and its files (shared/reference/chip.md). */
#define ENCODER_SSSE_AID_LEN 15
extern const uint8_t encoder_ssse_aid[ENCODER_SSSE_AID_LEN];
#define ENCODER_FID_EF05       0xEF05
#define ENCODER_FID_EF06       0xEF06
#define ENCODER_SSSE_KEY_ID    0x01
#define ENCODER_CARD_ID_LEN    16
#define ENCODER_CHALLENGE_LEN  8
#define ENCODER_CRYPTOGRAM_LEN 16

/* Largest value each SSSE record holds (0 = no such record); shared by the personaliser and the sim card. */
size_t encoder_ssse_record_max(uint16_t fid, uint8_t rec);

/* ---- ATR allow-list (atr.c) ---- */
void encoder_atr_allowlist_free(struct encoder_atr_allowlist *list);

/* ---- key service (keyservice.c) ---- */

/* Read a 16-byte key written as 32 hex digits (surrounding white space allowed) from a file readable by its
 * owner only. Returns 0, ENCODER_ERROR_KEY or _INVALID; ret_key untouched on failure. */
int encoder_key_file_read(const char *path, uint8_t ret_key[16]);
/* The text of a key file (len bytes, not NUL-terminated): 32 hex digits with white space anywhere. Returns 0,
 * ENCODER_ERROR_KEY or _INVALID; ret_key untouched on failure. Pure (fuzzed). */
int encoder_key_text_parse(const char *text, size_t len, uint8_t ret_key[16]);

/* SM4-ECB encryption of len bytes (a multiple of 16) with a 16-byte key.
 * Returns 0, ENCODER_ERROR_KEY (cipher failure), _NOMEM or _INVALID. */
int encoder_sm4_ecb_encrypt(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out);
/* The external-authentication cryptogram scheme (see keyservice.c); the software key service and the
 * simulated card both use it so that they cannot drift apart. Returns 0 or an error as above. */
int encoder_ssse_cryptogram(const uint8_t master[16], const uint8_t card_id[ENCODER_CARD_ID_LEN],
                            const uint8_t challenge[ENCODER_CHALLENGE_LEN],
                            uint8_t ret_cryptogram[ENCODER_CRYPTOGRAM_LEN]);
/* Ask the key service for the cryptogram for this card and challenge. Returns 0 or an ENCODER_ERROR. */
int encoder_key_service_cryptogram(struct encoder_key_service *ks, const uint8_t card_id[ENCODER_CARD_ID_LEN],
                                   const uint8_t challenge[ENCODER_CHALLENGE_LEN],
                                   uint8_t ret_cryptogram[ENCODER_CRYPTOGRAM_LEN]);

/* ---- simulated card (sim_card.c) ---- */

/* The card itself, without a station around it: the in-process sim station and the virtual card for vpcd
 * (tools/vcard) both drive this, so the two cannot drift apart. Files persist across power cycles; the
 * security state does not. */
enum encoder_sim_card_kind {
    ENCODER_SIM_CARD_SSC,  /* a social security card (SSSE application, or none when foreign) */
    ENCODER_SIM_CARD_PSAM, /* the issuer's PSAM: computes external-authentication cryptograms */
};

struct encoder_sim_card_config {
    enum encoder_sim_card_kind kind;
    uint8_t master[16]; /* issuer master key the card was made with */
    uint64_t seed;      /* the manufacturer's serial (card identifier) and challenges derive from it */
    bool foreign;       /* SSC: the card lacks the SSSE application (e.g. a bank-only card) */
    const uint8_t *atr; /* NULL: the default ATR of the kind */
    size_t atr_len;
    int memory_fault_at; /* index (0-based) of the UPDATE RECORD that answers 6581; -1 = never */
};

struct encoder_sim_card;
int encoder_sim_card_new(const struct encoder_sim_card_config *cfg, struct encoder_sim_card **ret);
void encoder_sim_card_free(struct encoder_sim_card *card); /* accepts NULL; cleanses the key */
/* Power up or warm reset: the security state, current file and pending data are cleared; files are kept. */
int encoder_sim_card_power_on(struct encoder_sim_card *card, uint8_t *atr, size_t atr_max,
                              size_t *ret_atr_len);
void encoder_sim_card_power_off(struct encoder_sim_card *card);
/* One command APDU in, the response (data + SW1 SW2) out. ENCODER_ERROR_NO_CARD when not powered. */
int encoder_sim_card_apdu(struct encoder_sim_card *card, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
                          size_t resp_max, size_t *ret_resp_len);
/* UPDATE RECORD commands this card has received since it was made (for faults injected around writes). */
unsigned encoder_sim_card_updates(const struct encoder_sim_card *card);

/* The PSAM application and its command (cardline's own; see keyservice.c). */
#define ENCODER_PSAM_AID_LEN 9
extern const uint8_t encoder_psam_aid[ENCODER_PSAM_AID_LEN];
#define ENCODER_PSAM_CLA        0x80
#define ENCODER_PSAM_INS_CRYPTO 0xFA

/* From the next reset on, the simulated station holds cards without the SSSE application (e.g. a bank-only
 * card), so SELECT of the SSSE AID answers 6A82. Returns 0 or ENCODER_ERROR_INVALID when t is not a sim. */
int encoder_sim_set_foreign_cards(struct encoder_transport *t, bool foreign);
