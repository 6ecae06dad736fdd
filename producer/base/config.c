/* config.c — reading the bureau's JSON configuration with json-c and refusing anything that is not exactly
 * right, naming the file, line and field */
#include "base/config.h"

#include "base/fileio.h"
#include "base/i18n.h"
#include "base/log.h"
#include "producer.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_FILE_MAX (1024u * 1024u)

struct ctx {
    const char *path;
    const char *data; /* the file's text, already parsed as strict JSON: for the line of a field */
    size_t len;
    const char *locate; /* for the next bad(): find this field's line instead (then forgotten) */
    char *err;
    size_t err_size;
};

/* --- where a field is in the text ------------------------------------------------------------------------
 * json-c keeps no positions, so the line of a field ("lines[1].printer", "(top).key_service") is found again
 * in the text, which json-c has already accepted as strict JSON; every step is bounded by len all the same.
 */
#define NOWHERE ((size_t)-1)

static size_t skip_ws(const char *d, size_t len, size_t i)
{
    while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'))
        i++;
    return i;
}

/* i at an opening quote; returns the index after the closing one */
static size_t skip_string(const char *d, size_t len, size_t i)
{
    for (i++; i < len && d[i] != '"'; i++)
        if (d[i] == '\\')
            i++;
    return i < len ? i + 1 : len;
}

static size_t skip_value(const char *d, size_t len, size_t i)
{
    size_t depth = 0;

    if (i < len && d[i] == '"')
        return skip_string(d, len, i);
    for (; i < len; i++) {
        if (d[i] == '"') {
            i = skip_string(d, len, i) - 1;
        } else if (d[i] == '{' || d[i] == '[') {
            depth++;
        } else if (d[i] == '}' || d[i] == ']') {
            if (depth == 0)
                return i;
            if (--depth == 0)
                return i + 1;
        } else if (depth == 0 && d[i] == ',') {
            return i;
        }
    }
    return len;
}

/* The offset of key's quote in the object starting at i ('{'), or NOWHERE. Keys are compared as written. */
static size_t find_key(const char *d, size_t len, size_t i, const char *key, size_t *ret_value)
{
    size_t klen = strlen(key);

    if (i >= len || d[i] != '{')
        return NOWHERE;
    for (i = skip_ws(d, len, i + 1); i < len && d[i] == '"';) {
        size_t k = i, end = skip_string(d, len, i);

        i = skip_ws(d, len, end);
        if (i >= len || d[i] != ':')
            return NOWHERE;
        i = skip_ws(d, len, i + 1);
        if (end - k - 2 == klen && memcmp(d + k + 1, key, klen) == 0) {
            *ret_value = i;
            return k;
        }
        i = skip_ws(d, len, skip_value(d, len, i));
        if (i < len && d[i] == ',')
            i = skip_ws(d, len, i + 1);
    }
    return NOWHERE;
}

static size_t array_element(const char *d, size_t len, size_t i, long index)
{
    if (i >= len || d[i] != '[')
        return NOWHERE;
    for (i = skip_ws(d, len, i + 1); i < len && d[i] != ']'; index--) {
        if (index == 0)
            return i;
        i = skip_ws(d, len, skip_value(d, len, i));
        if (i < len && d[i] == ',')
            i = skip_ws(d, len, i + 1);
    }
    return NOWHERE;
}

static int line_of_offset(const char *data, size_t offset);

/* The line of field (top[.key], top[N], top[N].key), or 0 when it cannot be told. */
static int field_line(const struct ctx *c, const char *field)
{
    char top[32] = "", key[32] = "";
    size_t at, value, root;
    long index = -1;
    const char *p = field;

    if (!c->data)
        return 0;
    root = skip_ws(c->data, c->len, 0);
    if (strncmp(p, "(top)", 5) == 0) {
        if (p[5] != '.')
            return line_of_offset(c->data, root);
        p += 6;
    }
    if (sscanf(p, "%31[a-z_][%ld].%31[a-z_]", top, &index, key) < 1 &&
        sscanf(p, "%31[a-z_].%31[a-z_]", top, key) < 1)
        return 0;
    at = find_key(c->data, c->len, root, top, &value);
    if (at != NOWHERE && index >= 0) {
        at = array_element(c->data, c->len, value, index);
        value = at;
    }
    if (at != NOWHERE && key[0])
        at = find_key(c->data, c->len, value, key, &value);
    return at == NOWHERE ? 0 : line_of_offset(c->data, at);
}

static int bad(struct ctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(struct ctx *c, const char *field, const char *fmt, ...)
{
    char msg[256];
    int line = field_line(c, c->locate ? c->locate : field);
    va_list ap;

    c->locate = NULL;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(c->err, c->err_size, "%s:%d: %s: %s", c->path, line, field, msg);
    else
        snprintf(c->err, c->err_size, "%s: %s: %s", c->path, field, msg);
    return PRODUCER_ERROR_INPUT;
}

static const char *const top_keys[] = {"lines",   "key_service", "photo_profile",   "atr_allow",
                                       "outlets", "banks",       "bank_application"};
static const char *const line_keys[] = {"id", "printer", "encoder", "counter"};
static const char *const outlet_keys[] = {"code",        "name", "kind", "county", "delivery_weekdays",
                                          "transit_days"};

/* Unknown keys are refused: a misspelt "encodr" must not silently fall back to a default. */
static int only_keys(struct ctx *c, json_object *obj, const char *where, const char *const *keys,
                     size_t nkeys)
{
    json_object_object_foreach(obj, key, val)
    {
        bool known = false;
        (void)val;
        for (size_t i = 0; i < nkeys; i++)
            known |= strcmp(key, keys[i]) == 0;
        if (!known) {
            char at[96];

            snprintf(at, sizeof(at), "%s.%s", where, key);
            c->locate = at;
            return bad(c, where, _("unknown key '%s'"), key);
        }
    }
    return 0;
}

static int get_string(struct ctx *c, json_object *obj, const char *key, const char *where, bool required,
                      char *out, size_t size)
{
    json_object *v;
    char field[96];
    const char *s;

    snprintf(field, sizeof(field), "%s.%s", where, key);
    if (!json_object_object_get_ex(obj, key, &v)) {
        if (required)
            return bad(c, field, _("missing"));
        out[0] = '\0';
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return bad(c, field, _("must be a string"));
    s = json_object_get_string(v);
    if (strlen(s) >= size)
        return bad(c, field, _("longer than %zu bytes"), size - 1);
    if (required && !*s)
        return bad(c, field, _("empty"));
    snprintf(out, size, "%s", s);
    return 0;
}

static bool valid_printer_spec(const char *s)
{
    return strcmp(s, "sim") == 0 || strcmp(s, "usb") == 0 || (strncmp(s, "usb:", 4) == 0 && s[4] != '\0') ||
           strcmp(s, "emu:evolis") == 0 || strcmp(s, "emu:magicard") == 0 ||
           /* print to file: the exact bytes a USB printer would receive */
           (strncmp(s, "evolis:file:", 12) == 0 && s[12] != '\0') ||
           (strncmp(s, "magicard:file:", 14) == 0 && s[14] != '\0');
}

static bool valid_encoder_spec(const char *s)
{
    return strcmp(s, "sim") == 0 || (strncmp(s, "pcsc:", 5) == 0 && s[5] != '\0');
}

static int parse_lines(struct ctx *c, json_object *arr, struct producer_config *cfg)
{
    if (!json_object_is_type(arr, json_type_array))
        return bad(c, "lines", _("must be an array"));
    if (json_object_array_length(arr) == 0 || json_object_array_length(arr) > CONFIG_MAX_LINES)
        return bad(c, "lines", _("must list 1 to %d lines"), CONFIG_MAX_LINES);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i), *v;
        struct producer_line_config *l = &cfg->lines[i];
        char where[32];
        int r;

        snprintf(where, sizeof(where), "lines[%zu]", i);
        if (!json_object_is_type(o, json_type_object))
            return bad(c, where, _("must be an object"));
        if ((r = only_keys(c, o, where, line_keys, sizeof(line_keys) / sizeof(line_keys[0]))) < 0 ||
            (r = get_string(c, o, "id", where, true, l->id, sizeof(l->id))) < 0 ||
            (r = get_string(c, o, "printer", where, true, l->printer, sizeof(l->printer))) < 0 ||
            (r = get_string(c, o, "encoder", where, true, l->encoder, sizeof(l->encoder))) < 0)
            return r;
        for (const char *p = l->id; *p; p++) {
            if (!isalnum((unsigned char)*p) && !strchr("_.:-", *p))
                return bad(c, where, _("id '%s' may only hold letters, digits and _ . : -"), l->id);
        }
        if (!valid_printer_spec(l->printer))
            return bad(
                c, where,
                _("printer '%s' is not one of sim, emu:evolis, emu:magicard, usb, usb:evolis, usb:magicard, "
                  "usb:<serial number>, evolis:file:<path>, magicard:file:<path>"),
                l->printer);
        if (!valid_encoder_spec(l->encoder))
            return bad(c, where, _("encoder '%s' is not sim or pcsc:<reader name>"), l->encoder);
        if (json_object_object_get_ex(o, "counter", &v)) {
            if (!json_object_is_type(v, json_type_boolean))
                return bad(c, where, _("counter must be true or false"));
            l->counter = json_object_get_boolean(v);
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(cfg->lines[k].id, l->id) == 0)
                return bad(c, where, _("line id '%s' appears twice"), l->id);
        }
        cfg->nlines++;
    }
    return 0;
}

static int parse_outlets(struct ctx *c, json_object *arr, struct producer_config *cfg)
{
    size_t n;

    if (!json_object_is_type(arr, json_type_array))
        return bad(c, "outlets", _("must be an array"));
    n = json_object_array_length(arr);
    if (n > CONFIG_MAX_OUTLETS)
        return bad(c, "outlets", _("more than %d outlets"), CONFIG_MAX_OUTLETS);
    cfg->outlets = calloc(n ? n : 1, sizeof(*cfg->outlets));
    if (!cfg->outlets)
        return PRODUCER_ERROR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *v;
        struct producer_outlet_config *out = &cfg->outlets[i];
        char where[32];
        size_t w = 0;
        int r;

        snprintf(where, sizeof(where), "outlets[%zu]", i);
        if (!json_object_is_type(o, json_type_object))
            return bad(c, where, _("must be an object"));
        if ((r = only_keys(c, o, where, outlet_keys, sizeof(outlet_keys) / sizeof(outlet_keys[0]))) < 0 ||
            (r = get_string(c, o, "code", where, true, out->code, sizeof(out->code))) < 0 ||
            (r = get_string(c, o, "name", where, true, out->name, sizeof(out->name))) < 0 ||
            (r = get_string(c, o, "kind", where, true, out->kind, sizeof(out->kind))) < 0 ||
            (r = get_string(c, o, "county", where, true, out->county, sizeof(out->county))) < 0)
            return r;
        if (strcmp(out->kind, "hrss") && strcmp(out->kind, "bank"))
            return bad(c, where, _("kind '%s' must be hrss or bank"), out->kind);
        for (const char *p = out->code; *p; p++) {
            if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p))
                return bad(c, where, _("code '%s' must be 3 to 16 capitals or digits"), out->code);
        }
        if (strlen(out->code) < 3)
            return bad(c, where, _("code '%s' must be 3 to 16 capitals or digits"), out->code);
        if (!json_object_object_get_ex(o, "delivery_weekdays", &v) ||
            !json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0 ||
            json_object_array_length(v) > 7)
            return bad(c, where, _("delivery_weekdays must list 1 to 7 ISO weekdays (1 = Monday)"));
        out->weekdays[w++] = '{';
        for (size_t k = 0; k < json_object_array_length(v); k++) {
            json_object *d = json_object_array_get_idx(v, k);
            int day = json_object_get_int(d);
            if (!json_object_is_type(d, json_type_int) || day < 1 || day > 7)
                return bad(c, where, _("delivery_weekdays[%zu] must be a weekday number 1..7"), k);
            w += (size_t)snprintf(out->weekdays + w, sizeof(out->weekdays) - w, "%s%d", k ? "," : "", day);
        }
        snprintf(out->weekdays + w, sizeof(out->weekdays) - w, "}");
        out->transit_days = 1;
        if (json_object_object_get_ex(o, "transit_days", &v)) {
            if (!json_object_is_type(v, json_type_int) || json_object_get_int(v) < 0 ||
                json_object_get_int(v) > 10)
                return bad(c, where, _("transit_days must be a whole number of working days 0..10"));
            out->transit_days = json_object_get_int(v);
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(cfg->outlets[k].code, out->code) == 0)
                return bad(c, where, _("outlet code '%s' appears twice"), out->code);
        }
        cfg->noutlets++;
    }
    return 0;
}

static int parse_atrs(struct ctx *c, json_object *arr, struct producer_config *cfg)
{
    if (!json_object_is_type(arr, json_type_array) || json_object_array_length(arr) > CONFIG_MAX_ATRS)
        return bad(c, "atr_allow", _("must be an array of at most %d hex ATRs"), CONFIG_MAX_ATRS);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        const char *s = json_object_get_string(v);
        size_t len = s ? strlen(s) : 0, atr_len = s ? strspn(s, "0123456789ABCDEFabcdef") : 0;
        /* real cards carry their serial number in the historical bytes: an entry may mask those out */
        bool masked = atr_len < len && s[atr_len] == '/' &&
                      strspn(s + atr_len + 1, "0123456789ABCDEFabcdef") == len - atr_len - 1 &&
                      len - atr_len - 1 == atr_len;
        if (!json_object_is_type(v, json_type_string) || atr_len < 4 || atr_len > 66 || atr_len % 2 ||
            (atr_len != len && !masked))
            return bad(c, "atr_allow",
                       _("entry %zu must be an ATR as 2 to 33 hex bytes, optionally /MASK of the "
                         "same length"),
                       i);
        for (size_t k = 0; k <= len; k++)
            cfg->atr_allow[i][k] = (char)toupper((unsigned char)s[k]);
        cfg->natr++;
    }
    return 0;
}

/* The cooperating banks: names as the card face and the import file write them, each once. */
static int parse_banks(struct ctx *c, json_object *arr, struct producer_config *cfg)
{
    if (!json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0 ||
        json_object_array_length(arr) > CONFIG_MAX_BANKS)
        return bad(c, "banks", _("must be an array of 1 to %d bank names"), CONFIG_MAX_BANKS);
    cfg->nbanks = 0;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        const char *s = json_object_get_string(v);
        char where[32];

        snprintf(where, sizeof(where), "banks[%zu]", i);
        if (!json_object_is_type(v, json_type_string) || !s[0] || strlen(s) >= sizeof(cfg->banks[0]))
            return bad(c, where, _("must be a bank's name of 1 to 100 bytes"));
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
            if (*p < 0x20 || *p == 0x7F)
                return bad(c, where, _("contains a control character"));
        }
        for (int k = 0; k < cfg->nbanks; k++) {
            if (strcmp(cfg->banks[k], s) == 0)
                return bad(c, where, _("bank '%s' appears twice"), s);
        }
        snprintf(cfg->banks[cfg->nbanks++], sizeof(cfg->banks[0]), "%s", s);
    }
    return 0;
}

static int line_of_offset(const char *data, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset && data[i]; i++)
        line += data[i] == '\n';
    return line;
}

/* Only white space from offset to len: a NUL byte counts as content, so "{...}\0junk" is refused. */
static bool only_space_after(const char *data, size_t offset, size_t len)
{
    for (size_t i = offset; i < len; i++) {
        if (!strchr(" \t\r\n", data[i]) || data[i] == '\0')
            return false;
    }
    return true;
}

int producer_config_parse(const char *name, const char *data, size_t len, struct producer_config **ret,
                          char *err, size_t err_size)
{
    struct ctx c = {.path = name, .err = err, .err_size = err_size};
    struct producer_config *cfg = NULL;
    json_tokener *tok = NULL;
    json_object *root = NULL, *v;
    int r;

    if (len > CONFIG_FILE_MAX) {
        snprintf(err, err_size, _("%s: larger than 1 MiB"), name);
        return PRODUCER_ERROR_INPUT;
    }
    tok = json_tokener_new();
    if (!tok)
        return PRODUCER_ERROR_NOMEM;
    /* strict: no trailing commas or other leniencies that would let a typo through */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, data, (int)len);
    /* one JSON value and nothing after it but white space */
    if (!root || json_tokener_get_error(tok) != json_tokener_success ||
        !only_space_after(data, json_tokener_get_parse_end(tok), len)) {
        snprintf(err, err_size, _("%s:%d: not valid JSON: %s"), name,
                 line_of_offset(data, json_tokener_get_parse_end(tok)),
                 json_tokener_error_desc(json_tokener_get_error(tok) == json_tokener_success
                                             ? json_tokener_error_parse_eof
                                             : json_tokener_get_error(tok)));
        r = PRODUCER_ERROR_INPUT;
        goto out;
    }
    c.data = data;
    c.len = len;
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        r = PRODUCER_ERROR_NOMEM;
        goto out;
    }
    if (!json_object_is_type(root, json_type_object)) {
        r = bad(&c, "(top)", _("must be a JSON object"));
        goto out;
    }
    if ((r = only_keys(&c, root, "(top)", top_keys, sizeof(top_keys) / sizeof(top_keys[0]))) < 0)
        goto out;
    if (!json_object_object_get_ex(root, "lines", &v)) {
        r = bad(&c, "lines", _("missing: name at least one line"));
        goto out;
    }
    if ((r = parse_lines(&c, v, cfg)) < 0)
        goto out;
    if (json_object_object_get_ex(root, "outlets", &v) && (r = parse_outlets(&c, v, cfg)) < 0)
        goto out;
    if (json_object_object_get_ex(root, "atr_allow", &v) && (r = parse_atrs(&c, v, cfg)) < 0)
        goto out;
    cfg->nbanks = -1;
    if (json_object_object_get_ex(root, "banks", &v) && (r = parse_banks(&c, v, cfg)) < 0)
        goto out;
    snprintf(cfg->source, sizeof(cfg->source), "%s", name);
    if ((r = get_string(&c, root, "key_service", "(top)", false, cfg->key_service,
                        sizeof(cfg->key_service))) < 0 ||
        (r = get_string(&c, root, "photo_profile", "(top)", false, cfg->photo_profile,
                        sizeof(cfg->photo_profile))) < 0)
        goto out;
    /* required: every card carries the bank's application and waits for its data; absent: the database's
     * setting stays as it is */
    if ((r = get_string(&c, root, "bank_application", "(top)", false, cfg->bank_application,
                        sizeof(cfg->bank_application))) < 0)
        goto out;
    if (cfg->bank_application[0] && strcmp(cfg->bank_application, "required") &&
        strcmp(cfg->bank_application, "off")) {
        r = bad(&c, "bank_application", _("'%s' is not required or off"), cfg->bank_application);
        goto out;
    }
    if (cfg->key_service[0] && strncmp(cfg->key_service, "soft:", 5) &&
        strncmp(cfg->key_service, "psam:", 5)) {
        r = bad(&c, "key_service", _("'%s' is not soft:<key file> or psam:<reader name>"), cfg->key_service);
        goto out;
    }
    for (int i = 0; i < cfg->nlines; i++) {
        if (strcmp(cfg->lines[i].encoder, "sim") != 0 && !cfg->key_service[0]) {
            r = bad(&c, "key_service", _("line %s encodes real cards but no key service is configured"),
                    cfg->lines[i].id);
            goto out;
        }
    }
    *ret = cfg;
    cfg = NULL;
    r = 0;
out:
    producer_config_free(cfg);
    json_object_put(root);
    json_tokener_free(tok);
    return r;
}

int producer_config_load(const char *path, struct producer_config **ret, char *err, size_t err_size)
{
    char *data = NULL;
    size_t len = 0;
    int r;

    r = producer_read_file(path, CONFIG_FILE_MAX, &data, &len);
    if (r < 0) {
        snprintf(err, err_size, "%s: %s", path, r == -EFBIG ? _("larger than 1 MiB") : strerror(-r));
        return r == -EFBIG ? PRODUCER_ERROR_INPUT : PRODUCER_ERROR_IO;
    }
    r = producer_config_parse(path, data, len, ret, err, err_size);
    free(data);
    return r;
}

void producer_config_free(struct producer_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->outlets);
    free(cfg);
}
