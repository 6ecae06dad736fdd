/* fuzz_config.c — fuzz target for the bureau's JSON configuration file (lines, devices, key service, ATR
 * allow-list, outlets): whatever the parser accepts must hold the limits the rest of cardline relies on */
#include "fuzz.h"
#include "base/config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static void check_config(const struct producer_config *cfg)
{
    CHECK(cfg->nlines >= 1 && cfg->nlines <= CONFIG_MAX_LINES);
    CHECK(cfg->natr >= 0 && cfg->natr <= CONFIG_MAX_ATRS);
    CHECK(cfg->noutlets >= 0 && cfg->noutlets <= CONFIG_MAX_OUTLETS);
    CHECK(terminated(cfg->key_service, sizeof(cfg->key_service)));
    CHECK(terminated(cfg->photo_profile, sizeof(cfg->photo_profile)));
    CHECK(!cfg->key_service[0] || strncmp(cfg->key_service, "soft:", 5) == 0 ||
          strncmp(cfg->key_service, "psam:", 5) == 0);
    for (int i = 0; i < cfg->nlines; i++) {
        const struct producer_line_config *l = &cfg->lines[i];
        CHECK(terminated(l->id, sizeof(l->id)) && l->id[0]);
        CHECK(terminated(l->printer, sizeof(l->printer)) && l->printer[0]);
        CHECK(terminated(l->encoder, sizeof(l->encoder)) && l->encoder[0]);
        /* a line that encodes real cards has a key service */
        CHECK(strcmp(l->encoder, "sim") == 0 || cfg->key_service[0]);
        for (int k = 0; k < i; k++)
            CHECK(strcmp(cfg->lines[k].id, l->id) != 0);
    }
    for (int i = 0; i < cfg->natr; i++) {
        /* hex, or hex/MASK with a mask of the same length */
        size_t len = strnlen(cfg->atr_allow[i], sizeof(cfg->atr_allow[i]));
        size_t atr = strspn(cfg->atr_allow[i], "0123456789ABCDEF");
        CHECK(len < sizeof(cfg->atr_allow[i]));
        CHECK(atr >= 4 && atr <= 66 && atr % 2 == 0);
        CHECK(atr == len || (cfg->atr_allow[i][atr] == '/' && len == 2 * atr + 1 &&
                             strspn(cfg->atr_allow[i] + atr + 1, "0123456789ABCDEF") == atr));
    }
    for (int i = 0; i < cfg->noutlets; i++) {
        const struct producer_outlet_config *o = &cfg->outlets[i];
        size_t w;
        CHECK(terminated(o->code, sizeof(o->code)) && strlen(o->code) >= 3);
        for (const char *p = o->code; *p; p++)
            CHECK(isupper((unsigned char)*p) || isdigit((unsigned char)*p));
        CHECK(terminated(o->name, sizeof(o->name)) && o->name[0]);
        CHECK(strcmp(o->kind, "hrss") == 0 || strcmp(o->kind, "bank") == 0);
        CHECK(terminated(o->county, sizeof(o->county)));
        /* the weekdays go to PostgreSQL as an array literal: exactly {d,d,...} with d in 1..7 */
        w = strnlen(o->weekdays, sizeof(o->weekdays));
        CHECK(w >= 3 && w < sizeof(o->weekdays) && o->weekdays[0] == '{' && o->weekdays[w - 1] == '}');
        for (size_t k = 1; k + 1 < w; k++)
            CHECK(k % 2 == 1 ? o->weekdays[k] >= '1' && o->weekdays[k] <= '7' : o->weekdays[k] == ',');
        CHECK(o->transit_days >= 0 && o->transit_days <= 10);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct producer_config *cfg = NULL;
    char err[512], *text;
    int r;

    /* producer_config_load hands the parser a NUL-terminated copy of the file */
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    r = producer_config_parse("fuzz.json", text, size, &cfg, err, sizeof(err));
    if (r == 0) {
        check_config(cfg);
        producer_config_free(cfg);
    } else {
        /* a refusal always says where and why */
        CHECK(cfg == NULL && strncmp(err, "fuzz.json", 9) == 0 && strlen(err) < sizeof(err));
    }
    free(text);
    return 0;
}
