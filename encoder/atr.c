/* atr.c — the ATR allow-list of an encoder station: which cards it accepts, as configured by the bureau */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder-private.h"

struct atr_rule {
    uint8_t atr[ENCODER_ATR_MAX];
    uint8_t mask[ENCODER_ATR_MAX];
    size_t len;
};

struct encoder_atr_allowlist {
    size_t n;
    struct atr_rule rules[ENCODER_ATR_ALLOW_MAX];
};

void encoder_atr_allowlist_free(struct encoder_atr_allowlist *list)
{
    free(list);
}

int encoder_atr_hist_factor(const uint8_t *atr, size_t len, uint8_t ret_factor[8])
{
    if (!atr || !ret_factor || len < 2 || len > ENCODER_ATR_MAX)
        return ENCODER_ERROR_ATR;
    /* Walk T0 and the interface bytes (ISO 7816-3) to the historical bytes. */
    size_t k = atr[1] & 0x0F, i = 2;
    uint8_t y = atr[1] >> 4;
    for (;;) {
        size_t n = (size_t)((y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1));
        bool td = y & 8;
        if (i + n + (td ? 1 : 0) > len)
            return ENCODER_ERROR_ATR;
        i += n;
        if (!td)
            break;
        y = atr[i++] >> 4;
    }
    /* [P9] §7.3.3: the third dispersal factor is T6..T13 (manufacturer, region, card serial). */
    if (k < 13 || i + 13 > len)
        return ENCODER_ERROR_ATR;
    memcpy(ret_factor, atr + i + 5, 8);
    return 0;
}

int encoder_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int encoder_hex_parse(const char *s, size_t len, uint8_t *out, size_t out_max)
{
    size_t n = 0;
    size_t i = 0;
    while (i < len) {
        if (s[i] == ' ' || s[i] == ':' || s[i] == '\t') {
            i++;
            continue;
        }
        if (i + 1 >= len || n >= out_max)
            return -1;
        int hi = encoder_hex_value((unsigned char)s[i]), lo = encoder_hex_value((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return (int)n;
}

static int parse_rule(const char *s, size_t len, struct atr_rule *ret)
{
    struct atr_rule rule;
    memset(&rule, 0, sizeof rule);
    const char *slash = memchr(s, '/', len);
    size_t atr_len = slash ? (size_t)(slash - s) : len;
    int n = encoder_hex_parse(s, atr_len, rule.atr, sizeof rule.atr);
    if (n < 2)
        return ENCODER_ERROR_INVALID;
    rule.len = (size_t)n;
    if (slash) {
        int m = encoder_hex_parse(slash + 1, len - atr_len - 1, rule.mask, sizeof rule.mask);
        if (m != n)
            return ENCODER_ERROR_INVALID;
    } else {
        memset(rule.mask, 0xFF, rule.len);
    }
    for (size_t i = 0; i < rule.len; i++)
        rule.atr[i] &= rule.mask[i];
    *ret = rule;
    return 0;
}

int encoder_transport_set_atr_allowlist(struct encoder_transport *t, const char *list, char *cause,
                                        size_t cause_size)
{
    if (!cause)
        cause_size = 0;
    if (!t)
        return ENCODER_ERROR_INVALID;
    if (!list || !*list) {
        encoder_atr_allowlist_free(t->atr_allow);
        t->atr_allow = NULL;
        return 0;
    }
    struct encoder_atr_allowlist *al = calloc(1, sizeof *al);
    if (!al)
        return ENCODER_ERROR_NOMEM;
    const char *p = list;
    unsigned entry = 0;
    while (*p) {
        size_t len = strcspn(p, ",;\n");
        /* trim */
        const char *b = p;
        size_t l = len;
        while (l && (*b == ' ' || *b == '\t' || *b == '\r')) {
            b++;
            l--;
        }
        while (l && (b[l - 1] == ' ' || b[l - 1] == '\t' || b[l - 1] == '\r'))
            l--;
        if (l) {
            entry++;
            if (al->n >= ENCODER_ATR_ALLOW_MAX || parse_rule(b, l, &al->rules[al->n]) < 0) {
                if (cause_size)
                    snprintf(
                        cause, cause_size,
                        al->n >= ENCODER_ATR_ALLOW_MAX
                            ? "ATR allow-list: more than %u entries"
                            : "ATR allow-list entry %u: not an ATR in hex (2..33 bytes, optional /mask of "
                              "the same length)",
                        al->n >= ENCODER_ATR_ALLOW_MAX ? ENCODER_ATR_ALLOW_MAX : entry);
                free(al);
                return ENCODER_ERROR_INVALID;
            }
            al->n++;
        }
        p += len;
        if (*p)
            p++;
    }
    if (al->n == 0) {
        if (cause_size)
            snprintf(cause, cause_size, "ATR allow-list has no entries");
        free(al);
        return ENCODER_ERROR_INVALID;
    }
    encoder_atr_allowlist_free(t->atr_allow);
    t->atr_allow = al;
    return 0;
}

int encoder_atr_allowed(const struct encoder_transport *t, const uint8_t *atr, size_t atr_len)
{
    if (!t || !atr)
        return 0;
    if (!t->atr_allow)
        return 1;
    for (size_t i = 0; i < t->atr_allow->n; i++) {
        const struct atr_rule *r = &t->atr_allow->rules[i];
        if (r->len != atr_len)
            continue;
        size_t j = 0;
        while (j < atr_len && (atr[j] & r->mask[j]) == r->atr[j])
            j++;
        if (j == atr_len)
            return 1;
    }
    return 0;
}
