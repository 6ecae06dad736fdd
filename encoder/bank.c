/* bank.c — the bank (PBOC/UnionPay) application: the bank's data file, BER-TLV, SCP02 + STORE DATA
 * personalisation, and the read-back a payment terminal would make */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "encoder-private.h"

/*
 * Sources: GlobalPlatform Card Specification 2.2 (STORE DATA; Appendix E, SCP02 with its INITIALIZE UPDATE
 * and EXTERNAL AUTHENTICATE), EMV Card Personalization Specification 1.1 (DGIs, the sensitive-data rule),
 * EMV 4.3 Book 1 (PSE, SELECT), Book 3 (GET PROCESSING OPTIONS, READ RECORD, AFL, DOLs, Annex B BER-TLV), and
 * PBOC 3.0 (JR/T 0025) for the UnionPay AIDs and the PPSE.
 */

#define BANK_DGI_MAX     48
#define BANK_DGI_LEN_MAX 1024
#define BANK_LINE_MAX    (2 * BANK_DGI_LEN_MAX + 32)
#define BANK_STRIPE_MAX  108
/* the application's upstream id (cardline's application table holds 1..64) and the bank's name in UTF-8 */
#define BANK_APPLICATION_MAX 64
#define BANK_NAME_MAX        60
/* STORE DATA data per command: 255 less the 8 bytes of C-MAC */
#define BANK_BLOCK_MAX 247

struct bank_dgi {
    uint16_t num;
    bool enc;
    size_t line;
    size_t len;
    uint8_t *v;
};

struct encoder_bank_data {
    uint8_t aid[16];
    size_t aid_len;
    char pan[20];
    char expiry[7];
    uint8_t track2[19];
    size_t track2_len;
    uint8_t kv;
    char tk[16];
    uint8_t kcv[3];
    bool have_kcv;
    char stripe[3][BANK_STRIPE_MAX + 1];
    char application[BANK_APPLICATION_MAX + 1]; /* the cardline application's upstream id */
    char bank[BANK_NAME_MAX + 1];               /* the cooperating bank, as in cardline's bank list */
    uint16_t encrypted[BANK_DGI_MAX];
    size_t n_encrypted;
    size_t n;
    struct bank_dgi dgi[BANK_DGI_MAX];
};

/* ---- small codecs ---- */

int encoder_luhn_ok(const char *digits, size_t n)
{
    if (!digits || n == 0)
        return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        char c = digits[n - 1 - i];
        if (c < '0' || c > '9')
            return 0;
        unsigned d = (unsigned)(c - '0');
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

int encoder_bcd_digits(const uint8_t *v, size_t len, char *out, size_t out_max)
{
    size_t n = 0;
    if (!v || !out || out_max == 0)
        return -1;
    for (size_t i = 0; i < 2 * len; i++) {
        uint8_t d = i % 2 == 0 ? v[i / 2] >> 4 : v[i / 2] & 0x0F;
        if (d == 0x0F) {
            /* padding only at the very end */
            if (i != 2 * len - 1)
                return -1;
            break;
        }
        if (d > 9 || n + 1 >= out_max)
            return -1;
        out[n++] = (char)('0' + d);
    }
    out[n] = '\0';
    return (int)n;
}

static void mask_pan(const char *pan, char out[20])
{
    size_t n = strnlen(pan, 19);
    for (size_t i = 0; i < n; i++)
        out[i] = (i < 6 || i + 4 >= n) ? pan[i] : '*';
    out[n] = '\0';
}

/* ---- BER-TLV ---- */

int encoder_ber_parse(const uint8_t *buf, size_t len, struct encoder_ber *ret)
{
    if (!buf || !ret || len < 2)
        return ENCODER_ERROR_INVALID;
    size_t i = 0;
    unsigned tag = buf[i++];
    bool constructed = (tag & 0x20) != 0;
    if ((tag & 0x1F) == 0x1F) {
        /* subsequent bytes while b8 is set; at most 3 tag bytes (EMV Book 3 Annex B1) */
        do {
            if (i >= len || i >= 3)
                return ENCODER_ERROR_INVALID;
            tag = tag << 8 | buf[i];
        } while (buf[i++] & 0x80);
    }
    if (i >= len)
        return ENCODER_ERROR_INVALID;
    size_t vlen = buf[i++];
    if (vlen == 0x81 || vlen == 0x82) {
        size_t nb = vlen - 0x80;
        if (len - i < nb)
            return ENCODER_ERROR_INVALID;
        vlen = 0;
        for (size_t k = 0; k < nb; k++)
            vlen = vlen << 8 | buf[i++];
    } else if (vlen >= 0x80) {
        return ENCODER_ERROR_INVALID; /* indefinite (80) or longer than two length bytes */
    }
    if (vlen > len - i)
        return ENCODER_ERROR_INVALID;
    *ret = (struct encoder_ber){
        .tag = tag, .constructed = constructed, .value = buf + i, .len = vlen, .used = i + vlen};
    return 0;
}

static int ber_find_depth(const uint8_t *buf, size_t len, unsigned tag, const uint8_t **ret_value,
                          size_t *ret_len, int depth)
{
    if (depth > 8)
        return ENCODER_ERROR_INVALID;
    size_t off = 0;
    while (off < len) {
        struct encoder_ber b;
        if (encoder_ber_parse(buf + off, len - off, &b) < 0)
            return ENCODER_ERROR_INVALID;
        if (b.tag == tag) {
            *ret_value = b.value;
            *ret_len = b.len;
            return 1;
        }
        if (b.constructed) {
            int r = ber_find_depth(b.value, b.len, tag, ret_value, ret_len, depth + 1);
            if (r != 0)
                return r;
        }
        off += b.used;
    }
    return 0;
}

int encoder_ber_find(const uint8_t *buf, size_t len, unsigned tag, const uint8_t **ret_value, size_t *ret_len)
{
    if ((!buf && len) || !ret_value || !ret_len)
        return ENCODER_ERROR_INVALID;
    return ber_find_depth(buf, len, tag, ret_value, ret_len, 0);
}

/* A whole value that is exactly a list of well-formed TLVs. */
static bool ber_list_ok(const uint8_t *buf, size_t len, int depth)
{
    size_t off = 0;
    if (depth > 8)
        return false;
    while (off < len) {
        struct encoder_ber b;
        if (encoder_ber_parse(buf + off, len - off, &b) < 0)
            return false;
        if (b.constructed && !ber_list_ok(b.value, b.len, depth + 1))
            return false;
        off += b.used;
    }
    return true;
}

int encoder_dol_fill(const uint8_t *dol, size_t len, uint8_t *out, size_t out_max)
{
    if ((!dol && len) || !out)
        return ENCODER_ERROR_INVALID;
    size_t off = 0, n = 0;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    uint8_t date[3] = {(uint8_t)(((tm.tm_year % 100) / 10) << 4 | (tm.tm_year % 10)),
                       (uint8_t)(((tm.tm_mon + 1) / 10) << 4 | ((tm.tm_mon + 1) % 10)),
                       (uint8_t)((tm.tm_mday / 10) << 4 | (tm.tm_mday % 10))};
    while (off < len) {
        /* a DOL entry is a tag and a one-byte length, no value (EMV Book 3, DOLs) */
        size_t i = off;
        unsigned tag = dol[i++];
        if ((tag & 0x1F) == 0x1F) {
            do {
                if (i >= len || i - off >= 3)
                    return ENCODER_ERROR_INVALID;
                tag = tag << 8 | dol[i];
            } while (dol[i++] & 0x80);
        }
        if (i >= len || dol[i] >= 0x80)
            return ENCODER_ERROR_INVALID;
        size_t l = dol[i++];
        if (l > out_max - n)
            return ENCODER_ERROR_INVALID;
        uint8_t *v = out + n;
        memset(v, 0, l);
        switch (tag) {
        case 0x9F66: /* terminal transaction qualifiers: contact chip (PBOC 3.0 part 12) */
            if (l >= 1)
                v[0] = 0x40;
            break;
        case 0x5F2A: /* transaction currency: CNY 156 */
        case 0x9F1A: /* terminal country: China 156 */
            if (l == 2)
                v[0] = 0x01, v[1] = 0x56;
            break;
        case 0x9A: /* transaction date YYMMDD */
            if (l == 3)
                memcpy(v, date, 3);
            break;
        case 0x9F37: /* unpredictable number */
            if (l && RAND_bytes(v, (int)l) != 1)
                return ENCODER_ERROR_INVALID;
            break;
        default:
            break;
        }
        n += l;
        off = i;
    }
    return (int)n;
}

int encoder_afl_check(const uint8_t *afl, size_t len)
{
    if ((!afl && len) || len == 0 || len % 4 != 0 || len > 252)
        return ENCODER_ERROR_INVALID;
    for (size_t i = 0; i < len; i += 4) {
        unsigned sfi = afl[i] >> 3;
        if ((afl[i] & 0x07) != 0 || sfi == 0 || sfi > 30 || afl[i + 1] == 0 || afl[i + 2] < afl[i + 1] ||
            afl[i + 3] > afl[i + 2] - afl[i + 1] + 1)
            return ENCODER_ERROR_INVALID;
    }
    return (int)(len / 4);
}

/* ---- the data file ---- */

static int data_fail(char *cause, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int data_fail(char *cause, size_t size, const char *fmt, ...)
{
    if (cause && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cause, size, fmt, ap);
        va_end(ap);
    }
    return ENCODER_ERROR_BANK_DATA;
}

/* Strict hex: pairs of digits, nothing else. Returns the byte count or -1. */
static int hex_strict(const char *s, size_t n, uint8_t *out, size_t out_max)
{
    if (n % 2 != 0 || n / 2 > out_max)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = encoder_hex_value((unsigned char)s[i]), lo = encoder_hex_value((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

static bool yymmdd_ok(const char *s)
{
    if (!all_digits(s, 6))
        return false;
    int mm = (s[2] - '0') * 10 + (s[3] - '0'), dd = (s[4] - '0') * 10 + (s[5] - '0');
    return mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31;
}

static struct bank_dgi *find_dgi(struct encoder_bank_data *d, uint16_t num)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->dgi[i].num == num)
            return &d->dgi[i];
    return NULL;
}

static bool stripe_ok(int track, const char *s, size_t n)
{
    static const size_t max[3] = {76, 37, 104}; /* ISO/IEC 7811-2 / 7813 character counts */
    if (n == 0 || n > max[track - 1])
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (track == 1 ? (c < 0x20 || c > 0x5F || c == '%' || c == '?')
                       : !((c >= '0' && c <= '9') || c == '='))
            return false;
    }
    return true;
}

/* An upstream id: 1..64 of [A-Za-z0-9_.:-]. Returns the 1-based column of the first bad character, 0 when
 * good, -1 for a bad length. */
static long application_bad(const char *s, size_t n)
{
    if (n == 0 || n > BANK_APPLICATION_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == ':' || c == '-'))
            return (long)i + 1;
    }
    return 0;
}

/* A bank name: well-formed UTF-8 (shortest form, no surrogates), no control characters (C0, DEL, C1) and no
 * spaces (ASCII, U+00A0, U+1680, U+2000-U+200B, U+2028/9, U+202F, U+205F, U+3000, U+FEFF), so that it can be
 * matched byte for byte against the bank list. Returns the 1-based byte of the first bad character, 0 when
 * good, -1 for a bad length. */
static long bank_name_bad(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n == 0 || n > BANK_NAME_MAX)
        return -1;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (k == 0 || k > n - i)
            return (long)i + 1;
        unsigned cp = k == 1 ? c : c & (0x7F >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return (long)i + 1;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp <= 0x20 ||
            (cp >= 0x7F && cp <= 0xA0) || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 ||
            cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF)
            return (long)i + 1;
        i += k;
    }
    return 0;
}

/* One KEY=VALUE line. */
static int parse_line(struct encoder_bank_data *d, size_t line, const char *key, size_t klen, const char *val,
                      size_t vlen, unsigned *seen, char *cause, size_t cs)
{
    enum {
        S_AID = 1,
        S_PAN = 2,
        S_EXP = 4,
        S_T2 = 8,
        S_KV = 16,
        S_TK = 32,
        S_KCV = 64,
        S_ENC = 128,
        S_APP = 256,
        S_BANK = 512
    };
    char k[24];
    if (klen == 0 || klen >= sizeof k)
        return data_fail(cause, cs, "line %zu: a field name is expected before '='", line);
    memcpy(k, key, klen);
    k[klen] = '\0';
    unsigned bit = 0;
    if (strcmp(k, "AID") == 0)
        bit = S_AID;
    else if (strcmp(k, "PAN") == 0)
        bit = S_PAN;
    else if (strcmp(k, "EXPIRY") == 0)
        bit = S_EXP;
    else if (strcmp(k, "TRACK2") == 0)
        bit = S_T2;
    else if (strcmp(k, "KEY_VERSION") == 0)
        bit = S_KV;
    else if (strcmp(k, "TRANSPORT_KEY") == 0)
        bit = S_TK;
    else if (strcmp(k, "TRANSPORT_KCV") == 0)
        bit = S_KCV;
    else if (strcmp(k, "ENCRYPTED") == 0)
        bit = S_ENC;
    else if (strcmp(k, "APPLICATION") == 0)
        bit = S_APP;
    else if (strcmp(k, "BANK") == 0)
        bit = S_BANK;
    if (bit) {
        if (*seen & bit)
            return data_fail(cause, cs, "line %zu (%s): given twice", line, k);
        *seen |= bit;
    }
    int n;
    long bad;
    switch (bit) {
    case S_APP:
        bad = application_bad(val, vlen);
        if (bad < 0)
            return data_fail(cause, cs,
                             "line %zu (APPLICATION): the application's upstream id, 1 to %d characters, "
                             "expected",
                             line, BANK_APPLICATION_MAX);
        if (bad > 0)
            return data_fail(
                cause, cs, "line %zu (APPLICATION): column %zu: only letters, digits, '_', '.', ':' and '-'",
                line, klen + 1 + (size_t)bad);
        memcpy(d->application, val, vlen);
        d->application[vlen] = '\0';
        return 0;
    case S_BANK:
        bad = bank_name_bad(val, vlen);
        if (bad < 0)
            return data_fail(cause, cs, "line %zu (BANK): the bank's name, 1 to %d bytes of UTF-8, expected",
                             line, BANK_NAME_MAX);
        if (bad > 0)
            return data_fail(cause, cs,
                             "line %zu (BANK): column %zu: not UTF-8, or a space or control character", line,
                             klen + 1 + (size_t)bad);
        memcpy(d->bank, val, vlen);
        d->bank[vlen] = '\0';
        return 0;
    case S_AID:
        n = hex_strict(val, vlen, d->aid, sizeof d->aid);
        if (n < 5)
            return data_fail(cause, cs, "line %zu (AID): 5 to 16 bytes in hexadecimal expected", line);
        d->aid_len = (size_t)n;
        return 0;
    case S_PAN:
        if (vlen < 16 || vlen > 19 || !all_digits(val, vlen))
            return data_fail(cause, cs, "line %zu (PAN): 16 to 19 digits expected", line);
        if (!encoder_luhn_ok(val, vlen))
            return data_fail(cause, cs, "line %zu (PAN): the check digit is wrong (Luhn)", line);
        memcpy(d->pan, val, vlen);
        d->pan[vlen] = '\0';
        return 0;
    case S_EXP:
        if (vlen != 6)
            return data_fail(cause, cs, "line %zu (EXPIRY): YYMMDD expected", line);
        memcpy(d->expiry, val, 6);
        d->expiry[6] = '\0';
        if (!yymmdd_ok(d->expiry))
            return data_fail(cause, cs, "line %zu (EXPIRY): YYMMDD expected", line);
        return 0;
    case S_T2:
        n = hex_strict(val, vlen, d->track2, sizeof d->track2);
        if (n < 12)
            return data_fail(cause, cs,
                             "line %zu (TRACK2): the track 2 equivalent (tag 57) in hexadecimal, "
                             "at most 19 bytes, expected",
                             line);
        d->track2_len = (size_t)n;
        return 0;
    case S_KV:
        if (hex_strict(val, vlen, &d->kv, 1) != 1)
            return data_fail(cause, cs, "line %zu (KEY_VERSION): one byte in hexadecimal expected", line);
        return 0;
    case S_TK:
        if (vlen == 0 || vlen > 15)
            return data_fail(cause, cs, "line %zu (TRANSPORT_KEY): a label of 1 to 15 characters expected",
                             line);
        for (size_t i = 0; i < vlen; i++) {
            char c = val[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_'))
                return data_fail(cause, cs,
                                 "line %zu (TRANSPORT_KEY): column %zu: only letters, digits, '-' and '_'",
                                 line, klen + 2 + i);
        }
        memcpy(d->tk, val, vlen);
        d->tk[vlen] = '\0';
        return 0;
    case S_KCV:
        if (hex_strict(val, vlen, d->kcv, 3) != 3)
            return data_fail(cause, cs, "line %zu (TRANSPORT_KCV): 3 bytes (6 hexadecimal digits) expected",
                             line);
        d->have_kcv = true;
        return 0;
    case S_ENC:
        /* DGI numbers, comma-separated: ENCRYPTED=8000,8010 */
        for (size_t i = 0; i <= vlen;) {
            uint8_t b[2];
            size_t bad_at = vlen - i < 4 || hex_strict(val + i, 4, b, 2) != 2 ? i
                            : i + 4 < vlen && val[i + 4] != ','               ? i + 4
                                                                              : SIZE_MAX;
            if (bad_at != SIZE_MAX)
                return data_fail(cause, cs,
                                 "line %zu (ENCRYPTED): column %zu: DGI numbers of 4 hexadecimal digits, "
                                 "separated by ',', expected",
                                 line, klen + 2 + bad_at);
            if (d->n_encrypted >= BANK_DGI_MAX)
                return data_fail(cause, cs, "line %zu (ENCRYPTED): more than %d DGIs", line, BANK_DGI_MAX);
            uint16_t num = (uint16_t)(b[0] << 8 | b[1]);
            for (size_t j = 0; j < d->n_encrypted; j++)
                if (d->encrypted[j] == num)
                    return data_fail(cause, cs, "line %zu (ENCRYPTED): DGI %04X listed twice", line, num);
            d->encrypted[d->n_encrypted++] = num;
            i += 5;
        }
        return 0;
    default:
        break;
    }
    if (klen == 7 && strncmp(k, "DGI", 3) == 0) {
        uint8_t b[2];
        if (hex_strict(k + 3, 4, b, 2) != 2)
            return data_fail(cause, cs, "line %zu (%s): DGI followed by 4 hexadecimal digits expected", line,
                             k);
        uint16_t num = (uint16_t)(b[0] << 8 | b[1]);
        if (find_dgi(d, num))
            return data_fail(cause, cs, "line %zu (%s): DGI %04X given twice", line, k, num);
        if (d->n >= BANK_DGI_MAX)
            return data_fail(cause, cs, "line %zu (%s): more than %d DGIs", line, k, BANK_DGI_MAX);
        if (vlen == 0 || vlen > 2 * BANK_DGI_LEN_MAX)
            return data_fail(cause, cs, "line %zu (%s): 1 to %d bytes of data expected", line, k,
                             BANK_DGI_LEN_MAX);
        struct bank_dgi *g = &d->dgi[d->n];
        g->v = malloc(vlen / 2 + 1);
        if (!g->v)
            return ENCODER_ERROR_NOMEM;
        n = hex_strict(val, vlen, g->v, vlen / 2 + 1);
        if (n < 1) {
            free(g->v);
            g->v = NULL;
            return data_fail(cause, cs, "line %zu (%s): hexadecimal digits in pairs expected", line, k);
        }
        g->num = num;
        g->len = (size_t)n;
        g->line = line;
        d->n++;
        return 0;
    }
    if (strncmp(k, "STRIPE_TRACK", 12) == 0 && klen == 13 && k[12] >= '1' && k[12] <= '3') {
        int tr = k[12] - '0';
        if (d->stripe[tr - 1][0])
            return data_fail(cause, cs, "line %zu (%s): given twice", line, k);
        if (!stripe_ok(tr, val, vlen))
            return data_fail(
                cause, cs, "line %zu (%s): ISO/IEC 7813 track %d characters without sentinels expected (%s)",
                line, k, tr,
                tr == 1   ? "space to '_' but not '%' or '?', at most 76"
                : tr == 2 ? "digits and '=', at most 37"
                          : "digits and '=', at most 104");
        memcpy(d->stripe[tr - 1], val, vlen);
        d->stripe[tr - 1][vlen] = '\0';
        return 0;
    }
    return data_fail(cause, cs, "line %zu: unknown field '%.23s'", line, k);
}

static bool is_record_dgi(uint16_t num)
{
    /* EMV CPS: DGI 'SFI record' for the records the terminal reads, SFI 1..30 */
    return (num >> 8) >= 1 && (num >> 8) <= 30 && (num & 0xFF) >= 1;
}

/* The one value of tag in the record DGIs; 0 and *ret_g NULL when absent; -1 when found twice. */
static int record_tag(struct encoder_bank_data *d, unsigned tag, const uint8_t **v, size_t *vlen,
                      struct bank_dgi **ret_g)
{
    *ret_g = NULL;
    for (size_t i = 0; i < d->n; i++) {
        struct bank_dgi *g = &d->dgi[i];
        const uint8_t *x;
        size_t xl;
        if (!is_record_dgi(g->num) || g->enc)
            continue;
        if (encoder_ber_find(g->v, g->len, tag, &x, &xl) == 1) {
            if (*ret_g)
                return -1;
            *ret_g = g;
            *v = x;
            *vlen = xl;
        }
    }
    return 0;
}

/* Everything that spans lines, once the file is read. */
static int check_whole(struct encoder_bank_data *d, unsigned seen, char *cause, size_t cs)
{
    static const struct {
        unsigned bit;
        const char *name;
    } req[] = {{1, "AID"}, {2, "PAN"}, {4, "EXPIRY"}, {8, "TRACK2"}, {256, "APPLICATION"}, {512, "BANK"}};
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
        if (!(seen & req[i].bit))
            return data_fail(cause, cs, "%s: missing", req[i].name);
    for (size_t i = 0; i < d->n_encrypted; i++) {
        struct bank_dgi *g = find_dgi(d, d->encrypted[i]);
        if (!g)
            return data_fail(cause, cs, "ENCRYPTED: DGI %04X is listed but not in the file", d->encrypted[i]);
        if (g->len % 8 != 0)
            return data_fail(
                cause, cs,
                "line %zu (DGI%04X): encrypted data must be whole 3DES blocks; %zu bytes is not a "
                "multiple of 8",
                g->line, g->num, g->len);
        g->enc = true;
    }
    for (size_t i = 0; i < d->n; i++) {
        struct bank_dgi *g = &d->dgi[i];
        if ((g->num >> 12) == 0x8 && !g->enc)
            return data_fail(
                cause, cs, "line %zu (DGI%04X): DGIs 8000-8FFF hold secrets and must be listed in ENCRYPTED",
                g->line, g->num);
        if (g->enc)
            continue;
        if (is_record_dgi(g->num)) {
            struct encoder_ber b;
            if (g->len > 254) /* a record with its template 70 fits one READ RECORD answer */
                return data_fail(cause, cs,
                                 "line %zu (DGI%04X): a record holds at most 254 bytes, this one %zu",
                                 g->line, g->num, g->len);
            if (encoder_ber_parse(g->v, g->len, &b) < 0 || b.tag != 0x70 || b.used != g->len ||
                !ber_list_ok(b.value, b.len, 0))
                return data_fail(cause, cs,
                                 "line %zu (DGI%04X): a record must be one well-formed template 70", g->line,
                                 g->num);
        } else if ((g->num == 0x9102 || g->num == 0x9104) && !ber_list_ok(g->v, g->len, 0)) {
            return data_fail(cause, cs, "line %zu (DGI%04X): malformed BER-TLV", g->line, g->num);
        }
    }
    if (d->n_encrypted && (!d->tk[0] || !d->have_kcv))
        return data_fail(cause, cs,
                         "%s: missing; encrypted DGIs need the transport key's label and check value",
                         !d->tk[0] ? "TRANSPORT_KEY" : "TRANSPORT_KCV");
    struct bank_dgi *k = find_dgi(d, 0x8000), *kc = find_dgi(d, 0x9000);
    if (k && (!kc || k->len % 16 != 0 || kc->len != 3 * (k->len / 16)))
        return data_fail(
            cause, cs,
            "line %zu (DGI8000): the keys need DGI 9000 with one 3-byte check value per 16-byte key",
            k->line);
    struct bank_dgi *fci = find_dgi(d, 0x9102), *gpo = find_dgi(d, 0x9104);
    if (!fci)
        return data_fail(cause, cs, "DGI9102: missing (the application's SELECT answer, FCI A5 template)");
    if (!gpo)
        return data_fail(cause, cs, "DGI9104: missing (the GET PROCESSING OPTIONS answer: AIP 82, AFL 94)");
    const uint8_t *afl, *aip;
    size_t afl_len, aip_len;
    if (encoder_ber_find(gpo->v, gpo->len, 0x82, &aip, &aip_len) != 1 || aip_len != 2)
        return data_fail(cause, cs, "line %zu (DGI9104): no AIP (tag 82, 2 bytes)", gpo->line);
    if (encoder_ber_find(gpo->v, gpo->len, 0x94, &afl, &afl_len) != 1 || encoder_afl_check(afl, afl_len) < 0)
        return data_fail(cause, cs, "line %zu (DGI9104): no well-formed AFL (tag 94, entries of 4 bytes)",
                         gpo->line);
    for (size_t i = 0; i < afl_len; i += 4)
        for (unsigned rec = afl[i + 1]; rec <= afl[i + 2]; rec++) {
            uint16_t num = (uint16_t)((afl[i] >> 3) << 8 | rec);
            if (!find_dgi(d, num))
                return data_fail(cause, cs,
                                 "line %zu (DGI9104): the AFL names SFI %u record %u, but DGI%04X is missing",
                                 gpo->line, afl[i] >> 3, rec, num);
        }
    /* The card must say what the bank says: the records' 5A, 5F24 and 57 against PAN, EXPIRY and TRACK2. */
    const uint8_t *v;
    size_t vl;
    struct bank_dgi *g;
    char digits[40];
    if (record_tag(d, 0x5A, &v, &vl, &g) < 0 || !g)
        return data_fail(cause, cs, "records: the account number (tag 5A) must be in exactly one record DGI");
    if (encoder_bcd_digits(v, vl, digits, sizeof digits) < 0 || strcmp(digits, d->pan) != 0)
        return data_fail(cause, cs, "line %zu (DGI%04X): tag 5A differs from PAN", g->line, g->num);
    if (record_tag(d, 0x5F24, &v, &vl, &g) < 0 || !g)
        return data_fail(cause, cs, "records: the expiry (tag 5F24) must be in exactly one record DGI");
    if (encoder_bcd_digits(v, vl, digits, sizeof digits) != 6 || strcmp(digits, d->expiry) != 0)
        return data_fail(cause, cs, "line %zu (DGI%04X): tag 5F24 differs from EXPIRY", g->line, g->num);
    if (record_tag(d, 0x57, &v, &vl, &g) < 0 || !g)
        return data_fail(cause, cs,
                         "records: the track 2 equivalent (tag 57) must be in exactly one record DGI");
    if (vl != d->track2_len || memcmp(v, d->track2, vl) != 0)
        return data_fail(cause, cs, "line %zu (DGI%04X): tag 57 differs from TRACK2", g->line, g->num);
    /* track 2 equivalent: PAN, D, YYMM, service code, discretionary data, F to a whole byte */
    char t2[40];
    size_t n = 0;
    for (size_t i = 0; i < 2 * d->track2_len && n + 1 < sizeof t2; i++) {
        uint8_t x = i % 2 == 0 ? d->track2[i / 2] >> 4 : d->track2[i / 2] & 0x0F;
        if (x == 0x0F && i == 2 * d->track2_len - 1)
            break;
        t2[n++] = x <= 9 ? (char)('0' + x) : x == 0x0D ? 'D' : '?';
    }
    t2[n] = '\0';
    size_t pl = strlen(d->pan);
    if (strchr(t2, '?') || n < pl + 8 || memcmp(t2, d->pan, pl) != 0 || t2[pl] != 'D' ||
        memcmp(t2 + pl + 1, d->expiry, 4) != 0 || strchr(t2 + pl + 1, 'D'))
        return data_fail(
            cause, cs,
            "TRACK2: must be the PAN, 'D', the expiry's YYMM and a service code (digits, F-padded)");
    return 0;
}

int encoder_bank_data_parse(const char *text, size_t len, struct encoder_bank_data **ret, char *cause,
                            size_t cause_size)
{
    if (!cause)
        cause_size = 0;
    if (cause_size)
        cause[0] = '\0';
    if ((!text && len) || !ret)
        return ENCODER_ERROR_INVALID;
    struct encoder_bank_data *d = calloc(1, sizeof *d);
    if (!d)
        return ENCODER_ERROR_NOMEM;
    size_t off = 0, line = 0;
    bool header = false;
    unsigned seen = 0;
    int r = 0;
    while (off < len && r == 0) {
        line++;
        size_t end = off;
        while (end < len && text[end] != '\n')
            end++;
        size_t n = end - off;
        const char *s = text + off;
        off = end + 1;
        if (n && s[n - 1] == '\r')
            n--;
        if (memchr(s, '\0', n)) {
            r = data_fail(cause, cause_size, "line %zu: a NUL byte; the file must be text", line);
            break;
        }
        if (n == 0 || s[0] == '#')
            continue;
        if (n > BANK_LINE_MAX) {
            r = data_fail(cause, cause_size, "line %zu: longer than %d characters", line, BANK_LINE_MAX);
            break;
        }
        const char *eq = memchr(s, '=', n);
        if (!eq) {
            r = data_fail(cause, cause_size, "line %zu: FIELD=VALUE expected", line);
            break;
        }
        size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
        /* no white space around names and values; a track 1 name field may hold spaces (ISO/IEC 7813) */
        bool spaces_ok = klen == 13 && memcmp(s, "STRIPE_TRACK1", 13) == 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] == '\t' || (s[i] == ' ' && (i < klen || !spaces_ok))) {
                r = data_fail(cause, cause_size, "line %zu: column %zu: white space is not allowed", line,
                              i + 1);
                break;
            }
        if (r < 0)
            break;
        if (!header) {
            if (klen != 18 || memcmp(s, "CARDLINE-BANK-DATA", 18) != 0 || vlen != 1 || eq[1] != '1') {
                r = data_fail(cause, cause_size, "line %zu: the file must begin with CARDLINE-BANK-DATA=1",
                              line);
                break;
            }
            header = true;
            continue;
        }
        r = parse_line(d, line, s, klen, eq + 1, vlen, &seen, cause, cause_size);
    }
    if (r == 0 && !header)
        r = data_fail(cause, cause_size, "empty: the file must begin with CARDLINE-BANK-DATA=1");
    if (r == 0)
        r = check_whole(d, seen, cause, cause_size);
    if (r < 0) {
        encoder_bank_data_free(d);
        return r;
    }
    *ret = d;
    return 0;
}

void encoder_bank_data_free(struct encoder_bank_data *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        OPENSSL_cleanse(d->dgi[i].v, d->dgi[i].len);
        free(d->dgi[i].v);
    }
    OPENSSL_cleanse(d, sizeof *d);
    free(d);
}

int encoder_bank_data_summary(const struct encoder_bank_data *d, struct encoder_bank_summary *ret)
{
    if (!d || !ret)
        return ENCODER_ERROR_INVALID;
    memset(ret, 0, sizeof *ret);
    encoder_hex(d->aid, d->aid_len, ret->aid_hex, sizeof ret->aid_hex);
    mask_pan(d->pan, ret->pan_masked);
    memcpy(ret->expiry, d->expiry, sizeof ret->expiry);
    snprintf(ret->transport_key, sizeof ret->transport_key, "%s", d->tk);
    ret->dgi_count = (unsigned)d->n;
    ret->sensitive_count = (unsigned)d->n_encrypted;
    ret->has_stripe = d->stripe[0][0] || d->stripe[1][0] || d->stripe[2][0];
    memcpy(ret->application, d->application, sizeof ret->application);
    memcpy(ret->bank, d->bank, sizeof ret->bank);
    return 0;
}

int encoder_bank_data_stripe(const struct encoder_bank_data *d, int track, char *out, size_t out_size)
{
    if (!d || track < 1 || track > 3 || !out || out_size <= strlen(d->stripe[track - 1]))
        return ENCODER_ERROR_INVALID;
    memcpy(out, d->stripe[track - 1], strlen(d->stripe[track - 1]) + 1);
    return 0;
}

size_t encoder_bank_data_dgis(const struct encoder_bank_data *d)
{
    return d ? d->n : 0;
}

int encoder_bank_data_dgi(const struct encoder_bank_data *d, size_t i, uint16_t *ret_number,
                          const uint8_t **ret_value, size_t *ret_len, bool *ret_encrypted)
{
    if (!d || i >= d->n)
        return ENCODER_ERROR_INVALID;
    if (ret_number)
        *ret_number = d->dgi[i].num;
    if (ret_value)
        *ret_value = d->dgi[i].v;
    if (ret_len)
        *ret_len = d->dgi[i].len;
    if (ret_encrypted)
        *ret_encrypted = d->dgi[i].enc;
    return 0;
}

/* ---- talking to the card ---- */

struct bank_session {
    struct encoder_transport *t;
    struct encoder_bank_result *res;
    uint16_t sw;
};

static int bfail(struct encoder_bank_result *res, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bfail(struct encoder_bank_result *res, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->cause, sizeof res->cause, fmt, ap);
    va_end(ap);
    return err;
}

/* One command; the status word in s->sw, the data (at most out_max) into out. Returns 0 when the card
 * answered (any status word) or the transport's error with the cause set. */
static int bank_cmd(struct bank_session *s, const char *what, const uint8_t *apdu, size_t apdu_len,
                    uint8_t *out, size_t out_max, size_t *ret_len)
{
    uint8_t resp[ENCODER_RESP_MAX];
    size_t resp_len = 0;
    s->sw = 0;
    int r = encoder_transport_transmit(s->t, apdu, apdu_len, resp, sizeof resp, &resp_len);
    if (r < 0) {
        if (s->t->last_error[0])
            return bfail(s->res, r, "%s: %s (%s)", what, encoder_strerror(r), s->t->last_error);
        return bfail(s->res, r, "%s: %s", what, encoder_strerror(r));
    }
    if (resp_len < 2)
        return bfail(s->res, ENCODER_ERROR_TRANSPORT, "%s: no status word", what);
    s->sw = (uint16_t)(resp[resp_len - 2] << 8 | resp[resp_len - 1]);
    size_t n = resp_len - 2;
    if (ret_len)
        *ret_len = 0;
    if (out && s->sw == 0x9000) {
        if (n > out_max) {
            OPENSSL_cleanse(resp, sizeof resp);
            return bfail(s->res, ENCODER_ERROR_STATUS, "%s: the card answered %zu bytes, more than expected",
                         what, n);
        }
        memcpy(out, resp, n);
        if (ret_len)
            *ret_len = n;
    }
    OPENSSL_cleanse(resp, sizeof resp);
    return 0;
}

static int sw_fail(struct bank_session *s, int err, const char *what)
{
    return bfail(s->res, err, "%s: status %04X (%s)", what, s->sw, encoder_sw_describe(s->sw));
}

static int power_up(struct bank_session *s)
{
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len = 0;
    s->t->last_error[0] = '\0';
    /* the bank application is the card's second: the card already in the station, not a new one */
    int r = s->t->ops->reset_same_card ? s->t->ops->reset_same_card(s->t->ctx, atr, sizeof atr, &atr_len)
                                       : s->t->ops->reset(s->t->ctx, atr, sizeof atr, &atr_len);
    if (r < 0) {
        if (s->t->last_error[0])
            return bfail(s->res, r, "card reset failed: %s (%s)", encoder_strerror(r), s->t->last_error);
        return bfail(s->res, r, "card reset failed: %s", encoder_strerror(r));
    }
    if (atr_len < 2 || atr_len > sizeof atr || (atr[0] != 0x3B && atr[0] != 0x3F))
        return bfail(s->res, ENCODER_ERROR_TRANSPORT, "card answered the reset with an invalid ATR");
    encoder_hex(atr, atr_len, s->res->atr_hex, sizeof s->res->atr_hex);
    if (!encoder_atr_allowed(s->t, atr, atr_len))
        return bfail(s->res, ENCODER_ERROR_ATR,
                     "card type not allowed at this station: ATR %s is not on the allow-list",
                     s->res->atr_hex);
    return 0;
}

static int select_name(struct bank_session *s, const char *what, const uint8_t *name, size_t len,
                       uint8_t *fci, size_t fci_max, size_t *ret_len)
{
    uint8_t apdu[ENCODER_APDU_MAX];
    size_t n;
    int r = encoder_apdu_select_aid(name, len, true, apdu, sizeof apdu, &n);
    if (r < 0)
        return bfail(s->res, r, "%s: cannot build SELECT", what);
    return bank_cmd(s, what, apdu, n, fci, fci_max, ret_len);
}

/* ---- personalisation ---- */

struct store_plan {
    size_t n;
    uint8_t (*cmd)[ENCODER_APDU_MAX]; /* plain 80 E2 commands, then wrapped in place */
    size_t len[256];
    uint8_t block[BANK_BLOCK_MAX];
    size_t fill;
    int cls; /* -1 none yet, 0 clear, 1 encrypted */
};

static int plan_flush(struct store_plan *p, bool last)
{
    if (p->n >= 256)
        return ENCODER_ERROR_INVALID; /* P2 counts blocks 00..FF */
    uint8_t *c = p->cmd[p->n];
    /* P1: b8 last block; b7-b6 11 = the block's DGIs are encrypted under the DEK, 00 = clear */
    c[0] = 0x80;
    c[1] = 0xE2;
    c[2] = (uint8_t)((last ? 0x80 : 0x00) | (p->cls == 1 ? 0x60 : 0x00));
    c[3] = (uint8_t)p->n;
    c[4] = (uint8_t)p->fill;
    memcpy(c + 5, p->block, p->fill);
    p->len[p->n] = 5 + p->fill;
    p->n++;
    p->fill = 0;
    return 0;
}

static int plan_add(struct store_plan *p, int cls, const uint8_t *bytes, size_t len)
{
    int r = 0;
    if (p->cls != cls && p->fill) /* a block's encryption flag covers all of it: no mixing */
        r = plan_flush(p, false);
    p->cls = cls;
    for (size_t i = 0; i < len && r == 0; i++) {
        if (p->fill == BANK_BLOCK_MAX)
            r = plan_flush(p, false);
        p->block[p->fill++] = bytes[i];
    }
    return r;
}

static int build_plan(struct bank_session *s, struct encoder_key_service *ks,
                      const struct encoder_bank_data *d, const struct encoder_scp02_ref *ref,
                      struct store_plan *p)
{
    uint8_t buf[3 + BANK_DGI_LEN_MAX];
    int r = 0;
    p->cls = -1;
    const struct bank_dgi *kcvs = NULL;
    for (size_t i = 0; i < d->n; i++)
        if (d->dgi[i].num == 0x9000)
            kcvs = &d->dgi[i];
    for (size_t i = 0; i < d->n && r == 0; i++) {
        const struct bank_dgi *g = &d->dgi[i];
        size_t h = 0;
        /* DGI: number (2), length (1, or FF and 2 for 255 and more), data (EMV CPS) */
        buf[h++] = (uint8_t)(g->num >> 8);
        buf[h++] = (uint8_t)g->num;
        if (g->len < 255) {
            buf[h++] = (uint8_t)g->len;
        } else {
            buf[h++] = 0xFF;
            buf[h++] = (uint8_t)(g->len >> 8);
            buf[h++] = (uint8_t)g->len;
        }
        if (g->enc) {
            char why[160] = "";
            bool keys = g->num == 0x8000 && kcvs;
            r = encoder_key_service_scp02_rewrap(ks, ref, d->tk, d->kcv, keys ? kcvs->v : NULL,
                                                 keys ? kcvs->len / 3 : 0, g->v, g->len, buf + h, why,
                                                 sizeof why);
            if (r < 0) {
                OPENSSL_cleanse(buf, sizeof buf);
                return bfail(s->res, r == ENCODER_ERROR_INVALID ? r : ENCODER_ERROR_KEY,
                             "key service could not re-encrypt DGI %04X: %s", g->num,
                             why[0] ? why : encoder_strerror(r));
            }
        } else {
            memcpy(buf + h, g->v, g->len);
        }
        r = plan_add(p, g->enc ? 1 : 0, buf, h + g->len);
    }
    if (r == 0)
        r = plan_flush(p, true);
    OPENSSL_cleanse(buf, sizeof buf);
    if (r < 0)
        return bfail(s->res, ENCODER_ERROR_BANK_DATA, "the DGIs need more than 256 STORE DATA blocks");
    return 0;
}

/* Wrap command i in place: 84, Lc + 8, C-MAC appended; mac chains. */
static int wrap(struct encoder_key_service *ks, const struct encoder_scp02_ref *ref, uint8_t *cmd,
                size_t *len, uint8_t mac[8], bool first)
{
    uint8_t prev[8];
    memcpy(prev, mac, 8);
    cmd[0] |= 0x04;
    cmd[4] = (uint8_t)(cmd[4] + 8);
    int r = encoder_key_service_scp02_cmac(ks, ref, first ? NULL : prev, cmd, *len, mac);
    if (r == 0) {
        memcpy(cmd + *len, mac, 8);
        *len += 8;
    }
    return r;
}

static int personalize(struct bank_session *s, struct encoder_key_service *ks,
                       const struct encoder_bank_data *d)
{
    struct encoder_bank_result *res = s->res;
    int r;
    if ((r = power_up(s)) < 0)
        return r;
    uint8_t fci[ENCODER_RESP_MAX];
    size_t fci_len;
    if ((r = select_name(s, "SELECT of the bank application", d->aid, d->aid_len, fci, sizeof fci,
                         &fci_len)) < 0)
        return r;
    if (s->sw == 0x6A82) {
        char aid[33];
        encoder_hex(d->aid, d->aid_len, aid, sizeof aid);
        return bfail(res, ENCODER_ERROR_NOT_BANK, "the bank application %s is not on this card (status 6A82)",
                     aid);
    }
    if (s->sw != 0x9000)
        return sw_fail(s, ENCODER_ERROR_NOT_BANK, "SELECT of the bank application");

    /* INITIALIZE UPDATE 80 50 kv 00 08 <host challenge> 00 (GP 2.2 Appendix E) */
    uint8_t iu[14] = {0x80, 0x50, d->kv, 0x00, 0x08}, host[8], resp[64];
    size_t n = 0;
    if (RAND_bytes(host, sizeof host) != 1)
        return bfail(res, ENCODER_ERROR_KEY, "no random host challenge (RAND_bytes failed)");
    memcpy(iu + 5, host, 8);
    if ((r = bank_cmd(s, "INITIALIZE UPDATE", iu, sizeof iu, resp, sizeof resp, &n)) < 0)
        return r;
    if (s->sw != 0x9000)
        return sw_fail(s, s->sw == 0x6A88 ? ENCODER_ERROR_KEY : ENCODER_ERROR_AUTH,
                       "INITIALIZE UPDATE refused");
    /* key diversification data 10, key information 2 (kv, SCP id), sequence counter 2, card challenge 6,
     * card cryptogram 8 */
    if (n != 28)
        return bfail(res, ENCODER_ERROR_STATUS, "INITIALIZE UPDATE answered %zu bytes, 28 expected", n);
    if (resp[11] != 0x02)
        return bfail(res, ENCODER_ERROR_AUTH, "the card offers secure channel protocol %02X, not SCP02",
                     resp[11]);
    if (d->kv && resp[10] != d->kv)
        return bfail(res, ENCODER_ERROR_KEY,
                     "the card answered with key version %02X, the bank's data has %02X", resp[10], d->kv);
    struct encoder_scp02_ref ref = {.kv = resp[10]};
    memcpy(ref.kdd, resp, 10);
    memcpy(ref.seq, resp + 12, 2);
    uint8_t ea[5 + 16] = {0x80, 0x82, 0x01, 0x00, 0x08}, mac[8];
    r = encoder_key_service_scp02_auth(ks, &ref, host, resp + 14, resp + 20, ea + 5);
    if (r == ENCODER_ERROR_CRYPTOGRAM)
        return bfail(
            res, r,
            "the card's SCP02 cryptogram does not match the key service's keys (key version %02X): wrong key "
            "set, or not the bureau's card; nothing was sent to it",
            ref.kv);
    if (r < 0)
        return bfail(res, ENCODER_ERROR_KEY, "key service could not compute the SCP02 cryptograms: %s",
                     encoder_strerror(r));

    /* EXTERNAL AUTHENTICATE 84 82 01 00 10 <host cryptogram> <C-MAC>: security level 01 = C-MAC */
    size_t ea_len = 13;
    if ((r = wrap(ks, &ref, ea, &ea_len, mac, true)) < 0)
        return bfail(res, ENCODER_ERROR_KEY, "key service could not compute the C-MAC: %s",
                     encoder_strerror(r));
    if ((r = bank_cmd(s, "EXTERNAL AUTHENTICATE", ea, ea_len, NULL, 0, NULL)) < 0)
        return r;
    if (s->sw != 0x9000)
        return sw_fail(s, ENCODER_ERROR_AUTH, "EXTERNAL AUTHENTICATE (SCP02) refused");

    struct store_plan *p = calloc(1, sizeof *p);
    if (p)
        p->cmd = calloc(256, sizeof *p->cmd);
    if (!p || !p->cmd) {
        if (p)
            free(p);
        return bfail(res, ENCODER_ERROR_NOMEM, "out of memory");
    }
    r = build_plan(s, ks, d, &ref, p);
    for (size_t i = 0; i < p->n && r == 0; i++)
        if (wrap(ks, &ref, p->cmd[i], &p->len[i], mac, false) < 0)
            r = bfail(res, ENCODER_ERROR_KEY, "key service could not compute the C-MAC");
    /* The MACs chain but need no answer: the blocks go to the card in batches (one hand-over each). */
    struct encoder_exchange x[ENCODER_BATCH_MAX];
    for (size_t at = 0; at < p->n && r == 0;) {
        size_t count = p->n - at < ENCODER_BATCH_MAX ? p->n - at : ENCODER_BATCH_MAX, done = 0;
        for (size_t i = 0; i < count; i++)
            x[i] = (struct encoder_exchange){.apdu = p->cmd[at + i], .apdu_len = p->len[at + i]};
        res->data_written = 1;
        r = encoder_transport_transmit_many(s->t, x, count, &done);
        if (r < 0) {
            r = bfail(res, r, "STORE DATA block %zu: %s%s%s", at + done, encoder_strerror(r),
                      s->t->last_error[0] ? ": " : "", s->t->last_error);
            break;
        }
        for (size_t i = 0; i < done; i++) {
            const struct encoder_exchange *e = &x[i];
            uint16_t sw =
                e->resp_len >= 2 ? (uint16_t)(e->resp[e->resp_len - 2] << 8 | e->resp[e->resp_len - 1]) : 0;
            if (sw != 0x9000) {
                s->sw = sw;
                char what[64];
                snprintf(what, sizeof what, "STORE DATA block %zu of %zu refused", at + i, p->n);
                r = sw_fail(s, ENCODER_ERROR_WRITE, what);
                break;
            }
            res->store_data_blocks++;
        }
        if (r == 0 && done != count)
            r = bfail(res, ENCODER_ERROR_TRANSPORT, "the reader answered a batch of STORE DATA incompletely");
        for (size_t i = 0; i < count; i++)
            OPENSSL_cleanse(x[i].resp, sizeof x[i].resp);
        at += count;
    }
    OPENSSL_cleanse(p->cmd, 256 * sizeof *p->cmd);
    free(p->cmd);
    OPENSSL_cleanse(p, sizeof *p);
    free(p);
    return r;
}

/* ---- reading back as a terminal ---- */

static const uint8_t ppse[] = "2PAY.SYS.DDF01", pse[] = "1PAY.SYS.DDF01";

static int read_record(struct bank_session *s, uint8_t sfi, uint8_t rec, uint8_t *out, size_t out_max,
                       size_t *ret_len)
{
    uint8_t apdu[5] = {0x00, 0xB2, rec, (uint8_t)(sfi << 3 | 4), 0x00};
    char what[48];
    snprintf(what, sizeof what, "READ RECORD SFI %u record %u", sfi, rec);
    return bank_cmd(s, what, apdu, sizeof apdu, out, out_max, ret_len);
}

/* The AID the directory lists: the expected one, else the first UnionPay AID (A000000333). */
static int pick_aid(const uint8_t *dir, size_t len, const struct encoder_bank_data *expect, uint8_t aid[16],
                    size_t *aid_len)
{
    size_t off = 0;
    int found = 0;
    while (off < len) {
        struct encoder_ber e;
        if (encoder_ber_parse(dir + off, len - off, &e) < 0)
            return ENCODER_ERROR_INVALID;
        off += e.used;
        const uint8_t *v;
        size_t vl;
        if (e.tag != 0x61 || encoder_ber_find(e.value, e.len, 0x4F, &v, &vl) != 1 || vl < 5 || vl > 16)
            continue;
        bool want = expect ? (vl == expect->aid_len && memcmp(v, expect->aid, vl) == 0)
                           : memcmp(v, "\xA0\x00\x00\x03\x33", 5) == 0;
        if (want && !found) {
            memcpy(aid, v, vl);
            *aid_len = vl;
            found = 1;
        }
    }
    return found;
}

static int read_back(struct bank_session *s, const struct encoder_bank_data *expect)
{
    struct encoder_bank_result *res = s->res;
    uint8_t buf[ENCODER_RESP_MAX], aid[16];
    size_t n = 0, aid_len = 0;
    int r;
    if ((r = power_up(s)) < 0)
        return r;
    /* PPSE (Book B / PBOC part 12: the directory in the FCI, BF0C), else the contact PSE (Book 1:
     * the directory in the records of the SFI its FCI names) */
    if ((r = select_name(s, "SELECT PPSE", ppse, sizeof ppse - 1, buf, sizeof buf, &n)) < 0)
        return r;
    int found = 0;
    if (s->sw == 0x9000) {
        const uint8_t *dir;
        size_t dl;
        if (encoder_ber_find(buf, n, 0xBF0C, &dir, &dl) != 1)
            return bfail(res, ENCODER_ERROR_READBACK, "the PPSE's FCI has no directory (BF0C)");
        found = pick_aid(dir, dl, expect, aid, &aid_len);
    } else {
        if ((r = select_name(s, "SELECT PSE", pse, sizeof pse - 1, buf, sizeof buf, &n)) < 0)
            return r;
        if (s->sw != 0x9000)
            return bfail(res, ENCODER_ERROR_NOT_BANK, "the card has neither PPSE nor PSE (status %04X)",
                         s->sw);
        const uint8_t *v;
        size_t vl;
        if (encoder_ber_find(buf, n, 0x88, &v, &vl) != 1 || vl != 1 || v[0] == 0 || v[0] > 30)
            return bfail(res, ENCODER_ERROR_READBACK, "the PSE's FCI names no directory SFI (88)");
        uint8_t sfi = v[0];
        for (unsigned rec = 1; rec < 32 && found == 0; rec++) {
            if ((r = read_record(s, sfi, (uint8_t)rec, buf, sizeof buf, &n)) < 0)
                return r;
            if (s->sw == 0x6A83)
                break;
            if (s->sw != 0x9000)
                return sw_fail(s, ENCODER_ERROR_READBACK, "READ RECORD of the PSE directory");
            struct encoder_ber t;
            if (encoder_ber_parse(buf, n, &t) < 0 || t.tag != 0x70)
                return bfail(res, ENCODER_ERROR_READBACK, "a PSE directory record is not a template 70");
            found = pick_aid(t.value, t.len, expect, aid, &aid_len);
        }
    }
    if (found < 0)
        return bfail(res, ENCODER_ERROR_READBACK, "the card's payment directory is malformed");
    if (found == 0)
        return bfail(res, ENCODER_ERROR_NOT_BANK, "the card's payment directory does not list the %s",
                     expect ? "bank data's application" : "UnionPay application");
    if ((r = select_name(s, "SELECT of the bank application", aid, aid_len, buf, sizeof buf, &n)) < 0)
        return r;
    if (s->sw != 0x9000)
        return sw_fail(s, ENCODER_ERROR_NOT_BANK, "SELECT of the bank application");
    /* GET PROCESSING OPTIONS 80 A8 00 00 Lc 83 L <PDOL data> 00 */
    const uint8_t *pdol = NULL;
    size_t pdol_len = 0;
    if (encoder_ber_find(buf, n, 0x6F, &pdol, &pdol_len) != 1)
        return bfail(res, ENCODER_ERROR_READBACK, "the application's FCI is not a template 6F");
    int has_pdol = encoder_ber_find(buf, n, 0x9F38, &pdol, &pdol_len);
    if (has_pdol < 0)
        return bfail(res, ENCODER_ERROR_READBACK, "the application's FCI is malformed");
    if (has_pdol == 0) {
        pdol = NULL;
        pdol_len = 0;
    }
    uint8_t gpo[ENCODER_APDU_MAX] = {0x80, 0xA8, 0x00, 0x00};
    int dl = encoder_dol_fill(pdol, pdol_len, gpo + 7, 250);
    if (dl < 0 || dl > 250)
        return bfail(res, ENCODER_ERROR_READBACK, "the application's PDOL is malformed or too long");
    gpo[4] = (uint8_t)(dl + 2);
    gpo[5] = 0x83;
    gpo[6] = (uint8_t)dl;
    gpo[7 + dl] = 0x00;
    if ((r = bank_cmd(s, "GET PROCESSING OPTIONS", gpo, 8 + (size_t)dl, buf, sizeof buf, &n)) < 0)
        return r;
    if (s->sw != 0x9000)
        return sw_fail(s, ENCODER_ERROR_READBACK,
                       "GET PROCESSING OPTIONS refused (application not personalised?)");
    /* format 1: 80 <AIP 2><AFL>; format 2: 77 { 82 AIP, 94 AFL } (Book 3, GET PROCESSING OPTIONS) */
    uint8_t afl[252];
    size_t afl_len = 0;
    struct encoder_ber g;
    if (encoder_ber_parse(buf, n, &g) < 0 || g.used != n)
        return bfail(res, ENCODER_ERROR_READBACK, "GET PROCESSING OPTIONS answered malformed data");
    if (g.tag == 0x80 && g.len >= 6 && g.len - 2 <= sizeof afl) {
        afl_len = g.len - 2;
        memcpy(afl, g.value + 2, afl_len);
    } else if (g.tag == 0x77) {
        const uint8_t *v;
        if (encoder_ber_find(g.value, g.len, 0x94, &v, &afl_len) != 1 || afl_len > sizeof afl)
            return bfail(res, ENCODER_ERROR_READBACK, "GET PROCESSING OPTIONS answered no AFL (94)");
        memcpy(afl, v, afl_len);
    } else {
        return bfail(res, ENCODER_ERROR_READBACK, "GET PROCESSING OPTIONS answered neither format 1 nor 2");
    }
    if (encoder_afl_check(afl, afl_len) < 0)
        return bfail(res, ENCODER_ERROR_READBACK, "the card's AFL is malformed");
    char pan[40] = "", expiry[8] = "";
    uint8_t t2[32];
    size_t t2_len = 0;
    bool have_pan = false, have_exp = false, have_t2 = false;
    for (size_t i = 0; i < afl_len; i += 4) {
        for (unsigned rec = afl[i + 1]; rec <= afl[i + 2]; rec++) {
            uint8_t sfi = afl[i] >> 3;
            if ((r = read_record(s, sfi, (uint8_t)rec, buf, sizeof buf, &n)) < 0)
                return r;
            if (s->sw != 0x9000)
                return bfail(res, ENCODER_ERROR_READBACK, "READ RECORD SFI %u record %u: status %04X (%s)",
                             sfi, rec, s->sw, encoder_sw_describe(s->sw));
            struct encoder_ber t;
            if (encoder_ber_parse(buf, n, &t) < 0 || t.tag != 0x70 || t.used != n ||
                !ber_list_ok(t.value, t.len, 0))
                return bfail(res, ENCODER_ERROR_READBACK, "SFI %u record %u is not a well-formed template 70",
                             sfi, rec);
            res->records_read++;
            const uint8_t *v;
            size_t vl;
            if (!have_pan && encoder_ber_find(t.value, t.len, 0x5A, &v, &vl) == 1) {
                have_pan = encoder_bcd_digits(v, vl, pan, sizeof pan) > 0;
                if (!have_pan)
                    return bfail(res, ENCODER_ERROR_READBACK, "the account number (5A) is not BCD digits");
            }
            if (!have_exp && encoder_ber_find(t.value, t.len, 0x5F24, &v, &vl) == 1) {
                have_exp = encoder_bcd_digits(v, vl, expiry, sizeof expiry) == 6;
                if (!have_exp)
                    return bfail(res, ENCODER_ERROR_READBACK, "the expiry (5F24) is not YYMMDD");
            }
            if (!have_t2 && encoder_ber_find(t.value, t.len, 0x57, &v, &vl) == 1 && vl <= sizeof t2) {
                memcpy(t2, v, vl);
                t2_len = vl;
                have_t2 = true;
            }
        }
    }
    if (!have_pan)
        return bfail(res, ENCODER_ERROR_READBACK, "no account number (5A) in the records the AFL names");
    mask_pan(pan, res->pan_masked);
    size_t pl = strlen(pan);
    if (pl < 16 || pl > 19 || !encoder_luhn_ok(pan, pl))
        return bfail(res, ENCODER_ERROR_READBACK, "the card's account number %s fails the Luhn check",
                     res->pan_masked);
    if (!have_exp || !have_t2)
        return bfail(res, ENCODER_ERROR_READBACK, "no %s in the records the AFL names",
                     !have_exp ? "expiry (5F24)" : "track 2 equivalent (57)");
    if (expect) {
        if (strcmp(pan, expect->pan) != 0)
            return bfail(res, ENCODER_ERROR_READBACK,
                         "the card's account number %s differs from the bank's data", res->pan_masked);
        if (strcmp(expiry, expect->expiry) != 0)
            return bfail(res, ENCODER_ERROR_READBACK,
                         "the card's expiry (5F24) differs from the bank's data");
        if (t2_len != expect->track2_len || memcmp(t2, expect->track2, t2_len) != 0)
            return bfail(res, ENCODER_ERROR_READBACK,
                         "the card's track 2 equivalent (57) differs from the bank's data");
    }
    OPENSSL_cleanse(buf, sizeof buf);
    OPENSSL_cleanse(pan, sizeof pan);
    OPENSSL_cleanse(t2, sizeof t2);
    return 0;
}

static bool transport_ok(const struct encoder_transport *t)
{
    return t && t->ops && t->ops->reset && t->ops->transmit;
}

int encoder_bank_read(struct encoder_transport *t, const struct encoder_bank_data *expect,
                      struct encoder_bank_result *ret)
{
    if (!ret)
        return ENCODER_ERROR_INVALID;
    struct encoder_bank_result res = {0};
    struct bank_session s = {.t = t, .res = &res};
    int r = transport_ok(t) ? read_back(&s, expect) : bfail(&res, ENCODER_ERROR_INVALID, "missing transport");
    if (res.atr_hex[0] && t->ops->power_off)
        t->ops->power_off(t->ctx);
    *ret = res;
    return r;
}

int encoder_bank_personalize(struct encoder_transport *t, struct encoder_key_service *ks,
                             const struct encoder_bank_data *data, struct encoder_bank_result *ret)
{
    if (!ret)
        return ENCODER_ERROR_INVALID;
    struct encoder_bank_result res = {0};
    struct bank_session s = {.t = t, .res = &res};
    int r;
    if (!transport_ok(t) || !ks || !data) {
        r = bfail(&res, ENCODER_ERROR_INVALID, "missing transport, key service or bank data");
    } else {
        r = personalize(&s, ks, data);
        if (r == 0) {
            /* a terminal starts from a fresh reset: what the card holds, not what this session left */
            struct encoder_bank_result rb = {0};
            s.res = &rb;
            r = read_back(&s, data);
            memcpy(res.pan_masked, rb.pan_masked, sizeof res.pan_masked);
            res.records_read = rb.records_read;
            if (r < 0)
                memcpy(res.cause, rb.cause, sizeof res.cause);
        }
        if (res.atr_hex[0] && t->ops->power_off)
            t->ops->power_off(t->ctx);
    }
    *ret = res;
    return r;
}
