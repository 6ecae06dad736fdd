/* apdu.c — pure codecs of the encoder: APDUs, status words, SSSE TLV records, cn/an fields, GBK names */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

#include "encoder-private.h"

const char *encoder_strerror(int err)
{
    switch (err) {
    case 0:
        return N_("success");
    case ENCODER_ERROR_INVALID:
        return N_("invalid argument");
    case ENCODER_ERROR_NOMEM:
        return N_("out of memory");
    case ENCODER_ERROR_TRANSPORT:
        return N_("reader or card communication failed");
    case ENCODER_ERROR_NO_CARD:
        return N_("no card in the station");
    case ENCODER_ERROR_NOT_SSC:
        return N_("not a social security card");
    case ENCODER_ERROR_AUTH:
        return N_("external authentication refused");
    case ENCODER_ERROR_WRITE:
        return N_("the card refused or failed a write");
    case ENCODER_ERROR_READBACK:
        return N_("read-back differs from what was written");
    case ENCODER_ERROR_ENCODING:
        return N_("a field cannot be encoded for the chip");
    case ENCODER_ERROR_STATUS:
        return N_("unexpected status word from the card");
    case ENCODER_ERROR_KEY:
        return N_("key service failure");
    case ENCODER_ERROR_TIMEOUT:
        return N_("the card or reader did not answer in time");
    case ENCODER_ERROR_ATR:
        return N_("card type not allowed at this station (ATR not on the allow-list)");
    case ENCODER_ERROR_NO_READER:
        return N_("reader not found or PC/SC service not running");
    case ENCODER_ERROR_PIN:
        return N_("the social security PIN could not be set or verified");
    case ENCODER_ERROR_BLANK:
        return N_("the blank's manufacturer data is not what the bureau buys");
    case ENCODER_ERROR_BLOCKED:
        return N_("the social security application is blocked");
    case ENCODER_ERROR_NOT_GENUINE:
        return N_("the card failed internal authentication (not a genuine card)");
    case ENCODER_ERROR_BANK_DATA:
        return N_("the bank's data for this card is malformed");
    case ENCODER_ERROR_CRYPTOGRAM:
        return N_("the card's secure channel cryptogram is wrong (wrong key set or not our card)");
    case ENCODER_ERROR_NOT_BANK:
        return N_("the bank application is not on this card");
    default:
        return N_("unknown encoder error");
    }
}

int encoder_apdu_build(const struct encoder_apdu *apdu, uint8_t *out, size_t out_max, size_t *ret_len)
{
    if (!apdu || !out || !ret_len)
        return ENCODER_ERROR_INVALID;
    if (apdu->lc > 255 || (apdu->lc > 0 && !apdu->data))
        return ENCODER_ERROR_INVALID;
    if (apdu->has_le && (apdu->le < 1 || apdu->le > 256))
        return ENCODER_ERROR_INVALID;

    size_t n = 4 + (apdu->lc ? 1 + apdu->lc : 0) + (apdu->has_le ? 1 : 0);
    if (n > out_max)
        return ENCODER_ERROR_INVALID;

    size_t i = 0;
    out[i++] = apdu->cla;
    out[i++] = apdu->ins;
    out[i++] = apdu->p1;
    out[i++] = apdu->p2;
    if (apdu->lc) {
        out[i++] = (uint8_t)apdu->lc;
        memcpy(out + i, apdu->data, apdu->lc);
        i += apdu->lc;
    }
    if (apdu->has_le)
        out[i++] = (uint8_t)(apdu->le & 0xFF); /* 256 -> 00 */
    *ret_len = i;
    return 0;
}

int encoder_apdu_parse(const uint8_t *buf, size_t len, struct encoder_apdu *ret)
{
    if (!buf || !ret || len < 4)
        return ENCODER_ERROR_INVALID;

    struct encoder_apdu a = {.cla = buf[0], .ins = buf[1], .p1 = buf[2], .p2 = buf[3]};
    if (len == 5) {
        a.has_le = true;
        a.le = buf[4] ? buf[4] : 256;
    } else if (len > 5) {
        size_t lc = buf[4];
        /* Lc = 00 followed by more bytes would be an extended APDU, which SSSE cards do not use. */
        if (lc == 0)
            return ENCODER_ERROR_INVALID;
        if (len == 5 + lc) {
            a.lc = lc;
            a.data = buf + 5;
        } else if (len == 6 + lc) {
            a.lc = lc;
            a.data = buf + 5;
            a.has_le = true;
            a.le = buf[len - 1] ? buf[len - 1] : 256;
        } else {
            return ENCODER_ERROR_INVALID;
        }
    }
    *ret = a;
    return 0;
}

int encoder_response_parse(const uint8_t *resp, size_t len, const uint8_t **ret_data, size_t *ret_data_len,
                           uint16_t *ret_sw)
{
    if (!resp || len < 2)
        return ENCODER_ERROR_TRANSPORT;
    if (ret_data)
        *ret_data = resp;
    if (ret_data_len)
        *ret_data_len = len - 2;
    if (ret_sw)
        *ret_sw = (uint16_t)(resp[len - 2] << 8 | resp[len - 1]);
    return 0;
}

int encoder_apdu_select_aid(const uint8_t *aid, size_t aid_len, bool with_le, uint8_t *out, size_t out_max,
                            size_t *ret_len)
{
    /* ISO 7816-5 AIDs are 5..16 bytes. Le 00 asks for the FCI ([P5] 表34), which names the algorithm. */
    if (!aid || aid_len < 5 || aid_len > 16)
        return ENCODER_ERROR_INVALID;
    struct encoder_apdu a = {.cla = 0x00,
                             .ins = 0xA4,
                             .p1 = 0x04,
                             .p2 = 0x00,
                             .data = aid,
                             .lc = aid_len,
                             .has_le = with_le,
                             .le = 256};
    return encoder_apdu_build(&a, out, out_max, ret_len);
}

int encoder_apdu_select_ef(uint8_t p1, uint16_t fid, uint8_t *out, size_t out_max, size_t *ret_len)
{
    const uint8_t id[2] = {(uint8_t)(fid >> 8), (uint8_t)(fid & 0xFF)};
    struct encoder_apdu a = {.cla = 0x00, .ins = 0xA4, .p1 = p1, .p2 = 0x00, .data = id, .lc = sizeof id};
    return encoder_apdu_build(&a, out, out_max, ret_len);
}

int encoder_sw_to_error(uint16_t sw)
{
    if (sw == 0x9000)
        return 0;
    switch (sw) {
    case 0x9303: /* application permanently blocked ([P5] 表39) */
        return ENCODER_ERROR_BLOCKED;
    case 0x6581: /* memory failure: the EEPROM did not take the write */
        return ENCODER_ERROR_WRITE;
    case 0x6300:
    case 0x6982: /* security status not satisfied */
    case 0x6983: /* authentication method blocked */
    case 0x6984: /* reference data invalidated */
    case 0x6985: /* conditions of use not satisfied (e.g. no challenge) */
        return ENCODER_ERROR_AUTH;
    case 0x6A81: /* function not supported */
    case 0x6A82: /* file or application not found */
    case 0x6A86: /* incorrect P1 P2: the card does not know this addressing */
    case 0x6D00: /* instruction not supported */
    case 0x6E00: /* class not supported */
        /* The card does not have or speak the SSSE application: it is not the card we expect. */
        return ENCODER_ERROR_NOT_SSC;
    default:
        break;
    }
    if ((sw & 0xFFF0) == 0x63C0) /* wrong PIN/key, x tries left */
        return ENCODER_ERROR_AUTH;
    return ENCODER_ERROR_STATUS;
}

const char *encoder_sw_describe(uint16_t sw)
{
    switch (sw) {
    case 0x9000:
        return "success";
    case 0x6281:
        return "returned data may be corrupted";
    case 0x6283:
        return "selected file invalidated";
    case 0x6300:
        return "authentication failed";
    case 0x6400:
        return "execution error";
    case 0x6581:
        return "memory failure";
    case 0x6700:
        return "wrong length";
    case 0x6881:
        return "logical channel not supported";
    case 0x6882:
        return "secure messaging not supported";
    case 0x6981:
        return "command incompatible with file structure";
    case 0x6982:
        return "security status not satisfied";
    case 0x6983:
        return "authentication method blocked";
    case 0x6984:
        return "reference data invalidated";
    case 0x6985:
        return "conditions of use not satisfied";
    case 0x6986:
        return "command not allowed (no current EF)";
    case 0x6A80:
        return "incorrect data";
    case 0x6A81:
        return "function not supported";
    case 0x6A82:
        return "file or application not found";
    case 0x6A83:
        return "record not found";
    case 0x6A84:
        return "not enough memory space in the file";
    case 0x6A85:
        return "Lc inconsistent with the TLV structure";
    case 0x6A86:
        return "incorrect P1 P2";
    case 0x6A88:
        return "referenced data not found";
    case 0x6B00:
        return "wrong P1 P2";
    case 0x6D00:
        return "instruction not supported";
    case 0x6E00:
        return "class not supported";
    case 0x6F00:
        return "no precise diagnosis";
    case 0x6988:
        return "secure messaging data object incorrect";
    case 0x9302:
        return "MAC invalid";
    case 0x9303:
        return "application permanently blocked";
    default:
        break;
    }
    switch (sw & 0xFF00) {
    case 0x6100:
        return "more data available";
    case 0x6C00:
        return "wrong Le";
    default:
        break;
    }
    if ((sw & 0xFFF0) == 0x63C0)
        return "verification failed, tries left";
    return "unexpected status";
}

int encoder_tlv_build(uint8_t tag, const uint8_t *value, size_t value_len, uint8_t *out, size_t out_max,
                      size_t *ret_len)
{
    if (!out || !ret_len || (value_len > 0 && !value) || value_len > 255)
        return ENCODER_ERROR_INVALID;
    size_t hdr = value_len < 0x80 ? 2 : 3;
    if (hdr + value_len > out_max)
        return ENCODER_ERROR_INVALID;
    out[0] = tag;
    if (hdr == 2) {
        out[1] = (uint8_t)value_len;
    } else {
        out[1] = 0x81;
        out[2] = (uint8_t)value_len;
    }
    if (value_len)
        memcpy(out + hdr, value, value_len);
    *ret_len = hdr + value_len;
    return 0;
}

int encoder_tlv_parse(const uint8_t *buf, size_t len, uint8_t *ret_tag, const uint8_t **ret_value,
                      size_t *ret_value_len, size_t *ret_consumed)
{
    if (!buf || len < 2)
        return ENCODER_ERROR_INVALID;
    size_t hdr, vlen;
    if (buf[1] < 0x80) {
        hdr = 2;
        vlen = buf[1];
    } else if (buf[1] == 0x81) {
        if (len < 3)
            return ENCODER_ERROR_INVALID;
        hdr = 3;
        vlen = buf[2];
    } else {
        /* 80 (indefinite) and 82+ never occur in SSSE records; refusing them keeps lengths bounded. */
        return ENCODER_ERROR_INVALID;
    }
    if (vlen > len - hdr)
        return ENCODER_ERROR_INVALID;
    if (ret_tag)
        *ret_tag = buf[0];
    if (ret_value)
        *ret_value = buf + hdr;
    if (ret_value_len)
        *ret_value_len = vlen;
    if (ret_consumed)
        *ret_consumed = hdr + vlen;
    return 0;
}

int encoder_cn_encode(const char *digits, uint8_t *out, size_t out_len)
{
    if (!digits || !out || out_len == 0)
        return ENCODER_ERROR_INVALID;
    size_t n = strnlen(digits, 2 * out_len + 1);
    if (n == 0 || n > 2 * out_len)
        return ENCODER_ERROR_ENCODING;
    for (size_t i = 0; i < n; i++)
        if (digits[i] < '0' || digits[i] > '9')
            return ENCODER_ERROR_ENCODING;

    for (size_t i = 0; i < out_len; i++) {
        uint8_t hi = 2 * i < n ? (uint8_t)(digits[2 * i] - '0') : 0x0F;
        uint8_t lo = 2 * i + 1 < n ? (uint8_t)(digits[2 * i + 1] - '0') : 0x0F;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int encoder_an_encode(const char *text, uint8_t *out, size_t out_len)
{
    if (!text || !out || out_len == 0)
        return ENCODER_ERROR_INVALID;
    size_t n = strnlen(text, out_len + 1);
    if (n > out_len)
        return ENCODER_ERROR_ENCODING;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7E)
            return ENCODER_ERROR_ENCODING;
    memset(out, 0, out_len);
    memcpy(out, text, n);
    return 0;
}

/* Length of the well-formed UTF-8 sequence at s (at most len bytes) and its code point; 0 when malformed
 * (overlong forms, surrogates and values past U+10FFFF included, as iconv would refuse them too). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *ret_cp)
{
    if (len == 0)
        return 0;
    uint32_t cp;
    size_t n;
    uint32_t min;
    if (s[0] < 0x80) {
        *ret_cp = s[0];
        return 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        cp = s[0] & 0x1F;
        n = 2;
        min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        cp = s[0] & 0x0F;
        n = 3;
        min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        cp = s[0] & 0x07;
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *ret_cp = cp;
    return n;
}

int encoder_utf8_to_gbk(const char *utf8, uint8_t *out, size_t out_max, size_t *ret_len, char *cause,
                        size_t cause_max)
{
    if (!utf8 || !out || !ret_len)
        return ENCODER_ERROR_INVALID;
    if (!cause)
        cause_max = 0;

    /* Validate first so that an iconv EILSEQ can only mean "valid character that GBK lacks". */
    size_t len = strlen(utf8);
    const unsigned char *u = (const unsigned char *)utf8;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(u + i, len - i, &cp);
        if (n == 0) {
            if (cause_max)
                snprintf(cause, cause_max, "not valid UTF-8 (byte %zu)", i);
            return ENCODER_ERROR_ENCODING;
        }
        i += n;
    }

    iconv_t cd = iconv_open("GBK", "UTF-8");
    if (cd == (iconv_t)-1) {
        if (cause_max)
            snprintf(cause, cause_max, "GBK conversion is not available on this system (iconv)");
        return ENCODER_ERROR_ENCODING;
    }
    char *in = (char *)utf8; /* iconv's prototype is not const-correct; it does not write the input */
    size_t in_left = len;
    char *o = (char *)out;
    size_t o_left = out_max;
    int r = 0;
    size_t n = iconv(cd, &in, &in_left, &o, &o_left);
    if (n == (size_t)-1) {
        if (errno == EILSEQ) {
            uint32_t cp = 0;
            size_t cl = utf8_decode((const unsigned char *)in, in_left, &cp);
            char ch[5] = {0};
            memcpy(ch, in, cl < sizeof ch - 1 ? cl : sizeof ch - 1);
            if (cause_max)
                snprintf(cause, cause_max, "character '%s' (U+%04X) cannot be encoded in GBK", ch,
                         (unsigned)cp);
        } else if (errno == E2BIG) {
            if (cause_max)
                snprintf(cause, cause_max, "too long, more than %zu bytes in GBK", out_max);
        } else if (cause_max) {
            snprintf(cause, cause_max, "GBK conversion failed (errno %d)", errno);
        }
        r = ENCODER_ERROR_ENCODING;
    } else if (n > 0) {
        /* A non-reversible conversion would put a different name on the chip than on the application. */
        if (cause_max)
            snprintf(cause, cause_max, "has characters that GBK can only approximate");
        r = ENCODER_ERROR_ENCODING;
    }
    iconv_close(cd);
    if (r < 0)
        return r;
    *ret_len = out_max - o_left;
    return 0;
}

size_t encoder_gbk_prefix(const uint8_t *gbk, size_t len, size_t max)
{
    size_t i = 0;
    while (i < len) {
        /* 81..FE lead a double-byte character; 00..7F and 80 (glibc maps the euro sign there) are single. */
        size_t cl = (gbk[i] >= 0x81 && gbk[i] <= 0xFE) ? 2 : 1;
        if (i + cl > max || i + cl > len)
            break;
        i += cl;
    }
    return i;
}

int encoder_name_encode(const char *utf8, uint8_t ret_field09[ENCODER_NAME_FIELD_LEN],
                        uint8_t ext[ENCODER_NAME_EXT_MAX], size_t *ret_ext_len, char *cause, size_t cause_max)
{
    if (!cause)
        cause_max = 0;
    if (!utf8 || !ret_field09 || !ext || !ret_ext_len)
        return ENCODER_ERROR_INVALID;
    if (utf8[0] == '\0') {
        if (cause_max)
            snprintf(cause, cause_max, "name is empty");
        return ENCODER_ERROR_INVALID;
    }

    uint8_t gbk[ENCODER_NAME_FIELD_LEN + ENCODER_NAME_EXT_MAX];
    size_t len;
    char why[96] = "";
    int r = encoder_utf8_to_gbk(utf8, gbk, sizeof gbk, &len, why, sizeof why);
    if (r < 0) {
        if (cause_max)
            snprintf(cause, cause_max, "name: %s", why);
        return r;
    }

    size_t first = encoder_gbk_prefix(gbk, len, ENCODER_NAME_FIELD_LEN);
    size_t rest = len - first;
    if (rest > ENCODER_NAME_EXT_MAX) {
        if (cause_max)
            snprintf(cause, cause_max, "name: too long, %zu bytes in GBK, the chip holds %d", len,
                     ENCODER_NAME_FIELD_LEN + ENCODER_NAME_EXT_MAX);
        return ENCODER_ERROR_ENCODING;
    }
    memset(ret_field09, 0, ENCODER_NAME_FIELD_LEN);
    memcpy(ret_field09, gbk, first);
    if (rest)
        memcpy(ext, gbk + first, rest);
    *ret_ext_len = rest;
    return 0;
}

/* One BER-TLV (1- or 2-byte tag, length < 0x80 or 81 xx) at buf; tags with bit pattern 1F take a second
 * byte. Returns 0 and the parts, or ENCODER_ERROR_INVALID. */
static int ber_tlv(const uint8_t *buf, size_t len, unsigned *ret_tag, const uint8_t **ret_value,
                   size_t *ret_len, size_t *ret_used)
{
    size_t i = 0;
    if (len < 2)
        return ENCODER_ERROR_INVALID;
    unsigned tag = buf[i++];
    if ((tag & 0x1F) == 0x1F) {
        tag = tag << 8 | buf[i++];
        if (tag & 0x80)
            return ENCODER_ERROR_INVALID; /* three-byte tags never occur in the SSSE FCI */
    }
    if (i >= len)
        return ENCODER_ERROR_INVALID;
    size_t vlen = buf[i++];
    if (vlen == 0x81) {
        if (i >= len)
            return ENCODER_ERROR_INVALID;
        vlen = buf[i++];
    } else if (vlen > 0x80) {
        return ENCODER_ERROR_INVALID;
    }
    if (vlen > len - i)
        return ENCODER_ERROR_INVALID;
    *ret_tag = tag;
    *ret_value = buf + i;
    *ret_len = vlen;
    *ret_used = i + vlen;
    return 0;
}

/* The value of tag inside a constructed value, or NULL. */
static const uint8_t *ber_find(const uint8_t *buf, size_t len, unsigned want, size_t *ret_len, int *ret_bad)
{
    size_t off = 0;
    while (off < len) {
        unsigned tag;
        const uint8_t *v;
        size_t vlen, used;
        if (ber_tlv(buf + off, len - off, &tag, &v, &vlen, &used) < 0) {
            *ret_bad = 1;
            return NULL;
        }
        if (tag == want) {
            *ret_len = vlen;
            return v;
        }
        off += used;
    }
    return NULL;
}

int encoder_ssse_fci_parse(const uint8_t *fci, size_t len, uint8_t *ret_alg)
{
    if (!fci || !ret_alg)
        return ENCODER_ERROR_INVALID;
    unsigned tag;
    const uint8_t *v;
    size_t vlen, used;
    /* [P5] 表36: 6F { 84 DF name, A5 { 88 SFI (O), 9F0C issuer data (O) } }; inside 9F0C the terminal
     * interface reads 86 = algorithm flag ([SC] §10.1; the trace answers 9F0C 03 86 01 03). */
    if (ber_tlv(fci, len, &tag, &v, &vlen, &used) < 0 || tag != 0x6F)
        return ENCODER_ERROR_INVALID;
    int bad = 0;
    size_t a5_len = 0, d_len = 0, alg_len = 0;
    const uint8_t *a5 = ber_find(v, vlen, 0xA5, &a5_len, &bad);
    const uint8_t *d = a5 ? ber_find(a5, a5_len, 0x9F0C, &d_len, &bad) : NULL;
    const uint8_t *alg = d ? ber_find(d, d_len, 0x86, &alg_len, &bad) : NULL;
    if (bad || (alg && alg_len != 1))
        return ENCODER_ERROR_INVALID;
    *ret_alg = alg ? alg[0] : 0;
    return 0;
}

int encoder_hex(const uint8_t *bytes, size_t len, char *out, size_t out_max)
{
    static const char digits[] = "0123456789ABCDEF";
    if (!out || (len && !bytes) || out_max < 2 * len + 1)
        return ENCODER_ERROR_INVALID;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0F];
    }
    out[2 * len] = '\0';
    return 0;
}
