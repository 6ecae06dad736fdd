/* encoder-private.h — declarations shared inside the encoder library and with its unit tests */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encoder.h"

/* Marks a message that producer/ translates where it shows it to a person (tests/lint/po.sh collects these);
 * the library itself stays English and free of gettext. */
#ifndef N_
#define N_(msgid) msgid
#endif

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
/* SELECT by DF name; with_le asks for the FCI (Le = 00), as the SSSE specification lists it. */
int encoder_apdu_select_aid(const uint8_t *aid, size_t aid_len, bool with_le, uint8_t *out, size_t out_max,
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
 * the name-extension record 4E, which holds 20 bytes 00-padded ([V2] 表9: 4E an 0x14). */
#define ENCODER_NAME_FIELD_LEN 30
#define ENCODER_NAME_EXT_MAX   20
/* Longest prefix of a GBK string that fits in max bytes without splitting a double-byte character. */
size_t encoder_gbk_prefix(const uint8_t *gbk, size_t len, size_t max);
/* Encode a UTF-8 name: ret_field09 gets the 30-byte field, ext the remainder (*ret_ext_len = 0 when none);
 * a name longer than 50 GBK bytes is refused (ENCODER_ERROR_ENCODING) before any card is touched. */
int encoder_name_encode(const char *utf8, uint8_t ret_field09[ENCODER_NAME_FIELD_LEN],
                        uint8_t ext[ENCODER_NAME_EXT_MAX], size_t *ret_ext_len, char *cause,
                        size_t cause_max);

/* The value of one hex digit, or -1. */
int encoder_hex_value(int c);
/* Hex bytes from s[0..len), separators ' ', ':' and tab between bytes allowed. Returns the byte count or -1.
 */
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

/* READ/UPDATE RECORD P2 (ISO 7816-4; SSC part 5 表32): low 3 bits = how P1 names the record, SFI << 3 above
 * (0 = current EF). */
#define ENCODER_REC_BY_NUMBER 0x04 /* P1 = record number */
#define ENCODER_REC_BY_ID     0x00 /* P1 = record identifier (the tag): the first record with it */

/* Every operation returns 0 when the card answered 9000. When the card answered another status word it is
 * left in card->sw and the return is encoder_sw_to_error(sw); transport failures return their own code. */
struct encoder_card_ops {
    /* SELECT an application (DF) by name; when fci is not NULL ask for the FCI (Le 00) and copy it there. */
    int (*select_aid)(struct encoder_card *card, const uint8_t *aid, size_t aid_len, uint8_t *fci,
                      size_t fci_max, size_t *ret_fci_len);
    /* SELECT an elementary file of the current application by its file identifier. */
    int (*select_ef)(struct encoder_card *card, uint16_t fid);
    /* READ RECORD: P1 = p1, P2 = p2 (see ENCODER_REC_*), Le = buf_max (at most 256); *ret_len = length. */
    int (*read_record)(struct encoder_card *card, uint8_t p1, uint8_t p2, uint8_t *buf, size_t buf_max,
                       size_t *ret_len);
    /* UPDATE RECORD with data (the whole record: tag, length, value). */
    int (*update_record)(struct encoder_card *card, uint8_t p1, uint8_t p2, const uint8_t *data, size_t len);
    /* GET CHALLENGE of len bytes (1..255) into buf. */
    int (*get_challenge)(struct encoder_card *card, uint8_t *buf, size_t len);
    /* EXTERNAL AUTHENTICATE with key key_id (P2) and data (SSC: auth data 8 || original random 8). */
    int (*external_authenticate)(struct encoder_card *card, uint8_t key_id, const uint8_t *data, size_t len);
    /* INTERNAL AUTHENTICATE with key key_id (P2) and data; the card's answer (8 bytes) into ret_auth. */
    int (*internal_authenticate)(struct encoder_card *card, uint8_t key_id, const uint8_t *data, size_t len,
                                 uint8_t ret_auth[8]);
    /* VERIFY a PIN given as decimal digits; on a wrong PIN (63Cx) *tries_left (when not NULL) gets x. */
    int (*verify_pin)(struct encoder_card *card, const char *pin, int *tries_left);
    /* SSC PIN CHANGE/UNBLOCK 84 24 00 p2 (00 unblock: MAC only; 01 reset: enciphered PIN || MAC).
     * NULL in the ISO base: ISO has no such command. */
    int (*pin_unblock)(struct encoder_card *card, uint8_t p2, const uint8_t *data, size_t len);
    /* SSC APPLICATION BLOCK 84 1E 00 01 04 <MAC> (permanent). NULL in the ISO base. */
    int (*application_block)(struct encoder_card *card, const uint8_t mac[4]);
};

/* Commands queued instead of sent while card->batch is set (ssse.c sends them together). */
struct encoder_card_batch {
    size_t n;
    struct encoder_exchange x[ENCODER_BATCH_MAX];
    uint8_t apdu[ENCODER_BATCH_MAX][ENCODER_APDU_MAX];
    char what[ENCODER_BATCH_MAX][64]; /* the step, for the cause when this command fails */
    int err_on_status[ENCODER_BATCH_MAX];
};
/* Name the last queued command's step (for the cause) and the error its refusal means (0: the mapped one). */
void encoder_batch_label(struct encoder_card_batch *b, int err_on_status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Send one APDU (or queue it), keep the status word in card->sw, copy response data to data when not NULL.
 * Returns 0 (9000) or encoder_sw_to_error(sw) or a transport error. */
int encoder_card_exchange(struct encoder_card *card, const uint8_t *apdu, size_t apdu_len, uint8_t *data,
                          size_t data_max, size_t *ret_data_len);
int encoder_card_command(struct encoder_card *card, const struct encoder_apdu *a, uint8_t *data,
                         size_t data_max, size_t *ret_data_len);
/* r, with *tries_left taken from a 63Cx answer. */
int encoder_verify_result(struct encoder_card *card, int r, int *tries_left);

const struct encoder_card_ops *encoder_iso7816_ops(void);
const struct encoder_card_ops *encoder_ssse_ops(void);

/* The SSSE application and its files ([P6] 表4, [V2] 表3: the 社会保障（个人）卡规范 texts in the public
 * repository gdgly/SI_3rdCard). */
#define ENCODER_SSSE_AID_LEN 15
extern const uint8_t encoder_ssse_aid[ENCODER_SSSE_AID_LEN];
#define ENCODER_FID_EF05      0xEF05
#define ENCODER_FID_EF06      0xEF06
#define ENCODER_CARD_ID_LEN   16
#define ENCODER_CHALLENGE_LEN 8
#define ENCODER_AUTH_LEN      8
/* Card-side key identifiers (EXTERNAL AUTHENTICATE P2) seen in public traces and writers ([TR1], [Z390]). */
#define ENCODER_KID_UKSSSE 0x04
#define ENCODER_KID_PUK    0x06
#define ENCODER_KID_RKSSSE 0x0A
#define ENCODER_KID_IRK    0x00 /* INTERNAL AUTHENTICATE P2 */

enum encoder_field_format { ENCODER_FMT_AN, ENCODER_FMT_CN };

/* One record of EF05/EF06: its number in the file, its identifier (tag) and fixed value length. */
struct encoder_ssse_record {
    uint16_t fid;
    uint8_t rec; /* record number, P1 with P2 = 04 */
    uint8_t tag; /* record identifier, P1 with P2 = 00 */
    uint8_t len; /* the value's full length: every UPDATE RECORD writes exactly this */
    enum encoder_field_format fmt;
    bool maker; /* written by the card maker (EF05 01-04): read and checked, never written */
};
#define ENCODER_SSSE_RECORDS 14
extern const struct encoder_ssse_record encoder_ssse_records[ENCODER_SSSE_RECORDS];
/* The record of fid with identifier tag, or NULL. */
const struct encoder_ssse_record *encoder_ssse_record_by_tag(uint16_t fid, uint8_t tag);
/* The record number rec of fid, or NULL. */
const struct encoder_ssse_record *encoder_ssse_record_by_number(uint16_t fid, uint8_t rec);

/* The algorithm flag from the SSSE FCI: 6F { 84 name, A5 { 88 SFI, 9F0C { 86 01 alg } } }. *ret_alg = 0 when
 * the FCI has no flag (then the region rule applies: "11" SSF33, else 3DES). Returns 0 or
 * ENCODER_ERROR_INVALID for a malformed FCI. Pure (fuzzed). */
int encoder_ssse_fci_parse(const uint8_t *fci, size_t len, uint8_t *ret_alg);
/* ATR historical bytes T6..T13 (the per-card dispersal factor). Returns 0 or ENCODER_ERROR_ATR when the ATR
 * is malformed or has fewer than 13 historical bytes. Pure (fuzzed). */
int encoder_atr_hist_factor(const uint8_t *atr, size_t len, uint8_t ret_factor[8]);

/* ---- ATR allow-list (atr.c) ---- */
void encoder_atr_allowlist_free(struct encoder_atr_allowlist *list);

/* ---- key service (keyservice.c) ---- */

/* The text of a key file (len bytes, not NUL-terminated): 32 hex digits with white space anywhere. Returns 0,
 * ENCODER_ERROR_KEY or _INVALID; ret_key untouched on failure. Pure (fuzzed). */
int encoder_key_text_parse(const char *text, size_t len, uint8_t ret_key[16]);

/* SM4-ECB encryption of len bytes (a multiple of 16) with a 16-byte key.
 * Returns 0, ENCODER_ERROR_KEY (cipher failure), _NOMEM or _INVALID. */
int encoder_sm4_ecb_encrypt(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out);
/* Block size of an algorithm flag: 8 (3DES), 16 (SM4), 0 otherwise. */
size_t encoder_alg_block(uint8_t alg);
/* ECB with the algorithm's 16-byte key (3DES-EDE two-key or SM4); len a multiple of the block size. */
int encoder_block_encrypt(uint8_t alg, const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out);
int encoder_block_decrypt(uint8_t alg, const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out);
/* Session key of a random under a card key (8 bytes doubled for 3DES, 16 for SM4). */
int encoder_ssse_session_key(uint8_t alg, const uint8_t key[16], const uint8_t rnd[8], uint8_t sk[16]);
/* The three dispersal factors of a card (keyservice.c explains the scheme). */
int encoder_dispersal_factors(const struct encoder_card_ref *ref, uint8_t ret_factors[3][8]);
/* The card key dispersed from root for ref (three levels). */
int encoder_ssse_card_key(const uint8_t root[16], const struct encoder_card_ref *ref, uint8_t ret_key[16]);
/* Authentication data: session key from process, then original (8 bytes out). */
int encoder_ssse_auth(uint8_t alg, const uint8_t card_key[16], const uint8_t process[8],
                      const uint8_t original[8], uint8_t ret_auth[8]);
/* Secure-messaging MAC (4 bytes) of data under the session key of challenge. */
int encoder_ssse_mac(uint8_t alg, const uint8_t card_key[16], const uint8_t challenge[8], const uint8_t *data,
                     size_t len, uint8_t ret_mac[4]);
/* PIN block for 84 24 00 01 under the session key of challenge; *ret_len = the block size. */
int encoder_ssse_pin_block(uint8_t alg, const uint8_t card_key[16], const uint8_t challenge[8],
                           const char *pin, uint8_t ret_block[16], size_t *ret_len);
/* ---- simulated card (sim_card.c) ---- */

/* The card itself, without a station around it: the in-process sim station and the virtual card for vpcd
 * (tools/vcard) both drive this, so the two cannot drift apart. Files persist across power cycles; the
 * security state does not. */
enum encoder_sim_card_kind {
    ENCODER_SIM_CARD_SSC,  /* a social security card (SSSE application, or none when foreign) */
    ENCODER_SIM_CARD_PSAM, /* the issuer's social security PSAM (BF EC / BF DE / 80 FA) */
};

struct encoder_sim_card_config {
    enum encoder_sim_card_kind kind;
    uint8_t master[16]; /* issuer root key the card's keys were dispersed from (every role) */
    uint8_t alg;        /* ENCODER_ALG_SM4 (0 = SM4) or ENCODER_ALG_3DES */
    uint64_t seed;      /* the manufacturer's serial (card identifier) and challenges derive from it */
    bool foreign;       /* SSC: the card lacks the SSSE application (e.g. a bank-only card) */
    const uint8_t *atr; /* NULL: the default ATR of the kind */
    size_t atr_len;
    int memory_fault_at;  /* index (0-based) of the UPDATE RECORD that answers 6581; -1 = never */
    bool bank_other_keys; /* SSC: the bank application's SCP02 keys are not diversified from master */
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

/* From the next reset on, the simulated station holds cards without the SSSE application (e.g. a bank-only
 * card), so SELECT of the SSSE AID answers 6A82. Returns 0 or ENCODER_ERROR_INVALID when t is not a sim. */
int encoder_sim_set_foreign_cards(struct encoder_transport *t, bool foreign);

/* ---- the bank application: SCP02 primitives (scp02.c), BER-TLV and the data file (bank.c) ---- */

/* SCP02 session key derivation constants (GP Card Specification 2.2 §E.4.1). */
#define ENCODER_SCP02_C_MAC 0x0101
#define ENCODER_SCP02_R_MAC 0x0102
#define ENCODER_SCP02_S_ENC 0x0182
#define ENCODER_SCP02_DEK   0x0181
/* Session key: 3DES-CBC (ICV zero) of constant || sequence counter || 00 x 12 under the static key. */
int encoder_scp02_session_key(const uint8_t key[16], uint16_t constant, const uint8_t seq[2],
                              uint8_t out[16]);
/* Full triple DES MAC: 3DES-CBC (ICV zero) over data padded by ISO 9797-1 method 2, last block. */
int encoder_scp02_full_mac(const uint8_t key[16], const uint8_t *data, size_t len, uint8_t out[8]);
/* Card and host cryptograms under the S-ENC session key. */
int encoder_scp02_card_cryptogram(const uint8_t s_enc[16], const uint8_t host_challenge[8],
                                  const uint8_t seq[2], const uint8_t card_challenge[6], uint8_t out[8]);
int encoder_scp02_host_cryptogram(const uint8_t s_enc[16], const uint8_t seq[2],
                                  const uint8_t card_challenge[6], const uint8_t host_challenge[8],
                                  uint8_t out[8]);
/* Retail MAC (ISO 9797-1 MAC algorithm 3, padding method 2) with icv, under the C-MAC session key. */
int encoder_scp02_retail_mac(const uint8_t key[16], const uint8_t icv[8], const uint8_t *data, size_t len,
                             uint8_t out[8]);
/* The ICV of the next command from the previous C-MAC: single DES under the key's left half (i=15/55). */
int encoder_scp02_icv(const uint8_t c_mac_key[16], const uint8_t prev_mac[8], uint8_t out[8]);
/* A card's static key of type 1 (ENC), 2 (MAC) or 3 (DEK) from the issuer master key (KMC), EMV CPS
 * diversification over KDD bytes 4..9. */
int encoder_scp02_emv_key(const uint8_t kmc[16], const uint8_t kdd[10], uint8_t type, uint8_t out[16]);
/* Key check value: the first 3 bytes of 3DES-ECB of 00 x 8. */
int encoder_kcv(const uint8_t key[16], uint8_t out[3]);
/* The soft key service's transport key for a label (1..15 of A-Z a-z 0-9 - _): 3DES-ECB of the label
 * padded 80 00.. to 16 bytes under the root (a test set-up; a bank's transport keys live in its HSM). */
int encoder_soft_transport_key(const uint8_t root[16], const char *label, uint8_t out[16]);

/* One BER-TLV (ISO/IEC 8825-1 as EMV Book 3 Annex B uses it): tags of 1..3 bytes, lengths in short form or
 * 81 xx / 82 xx xx; indefinite (80) and longer forms are refused. */
struct encoder_ber {
    unsigned tag;
    bool constructed;
    const uint8_t *value;
    size_t len;
    size_t used; /* bytes of the whole TLV */
};
/* Parse the TLV at the start of buf. Returns 0 or ENCODER_ERROR_INVALID. Pure (fuzzed). */
int encoder_ber_parse(const uint8_t *buf, size_t len, struct encoder_ber *ret);
/* Find tag at any depth of a TLV list (constructed values searched). Returns 1 found (value/len set), 0 not
 * found, ENCODER_ERROR_INVALID when the list is malformed anywhere before the tag is found. */
int encoder_ber_find(const uint8_t *buf, size_t len, unsigned tag, const uint8_t **ret_value,
                     size_t *ret_len);
/* A DOL (PDOL): tag/length pairs. Fills out with the terminal's values for the tags it knows (amount 0,
 * currency 0156, country 0156, TTQ, date, an unpredictable number) and zeros for the rest. Returns the length
 * or ENCODER_ERROR_INVALID (malformed, or longer than out_max). */
int encoder_dol_fill(const uint8_t *dol, size_t len, uint8_t *out, size_t out_max);
/* The AFL (94): entries of 4 bytes (SFI << 3, first record, last record, offline records). Returns the number
 * of entries or ENCODER_ERROR_INVALID when an entry is malformed (SFI 0 or > 30, first 0, last < first). */
int encoder_afl_check(const uint8_t *afl, size_t len);
/* Luhn (ISO/IEC 7812-1) over decimal digits: 1 valid, 0 not. */
int encoder_luhn_ok(const char *digits, size_t n);
/* Account number as the card encodes it (5A: cn, BCD F-padded) to digits; Returns the digit count or -1. */
int encoder_bcd_digits(const uint8_t *v, size_t len, char *out, size_t out_max);
/* The DGIs of parsed bank data, in file order, for tests and the fuzz target. */
size_t encoder_bank_data_dgis(const struct encoder_bank_data *d);
int encoder_bank_data_dgi(const struct encoder_bank_data *d, size_t i, uint16_t *ret_number,
                          const uint8_t **ret_value, size_t *ret_len, bool *ret_encrypted);
