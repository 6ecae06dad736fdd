/* layout.c — reads the card face layout (positions, sizes, fonts, colours) from its JSON data file and checks
 * it */
#include "render/face-private.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LAYOUT_FORMAT    "cardline-card-layout/1"
#define LAYOUT_FILE_MAX  (256 * 1024) /* the default layout is about 4 KiB */
#define LAYOUT_WHY_PLACE 96

#ifndef CARDLINE_LAYOUT_INSTALLED
#define CARDLINE_LAYOUT_INSTALLED "/usr/local/share/cardline/layouts/ssc-front.json"
#endif
#ifndef CARDLINE_LAYOUT_SOURCE
#define CARDLINE_LAYOUT_SOURCE "printer/layouts/ssc-front.json"
#endif

const char *printer_layout_default_path(void)
{
    const char *env = getenv("CARDLINE_LAYOUT");

    if (env && env[0])
        return env;
    if (access(CARDLINE_LAYOUT_INSTALLED, R_OK) == 0)
        return CARDLINE_LAYOUT_INSTALLED;
    return CARDLINE_LAYOUT_SOURCE;
}

/* Parsing state: the first problem found, with where it is. */
struct parse {
    const char *name;
    char *why;
    size_t why_size;
    bool failed;
};

static bool fail(struct parse *p, const char *place, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(struct parse *p, const char *place, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    if (p->failed)
        return false;
    p->failed = true;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (p->why && p->why_size)
        snprintf(p->why, p->why_size, "%s: %s%s%s", p->name, place, place[0] ? ": " : "", what);
    return false;
}

static json_object *member(json_object *obj, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* A number member in [min, max]; absent members take def when has_def. */
static bool get_number(struct parse *p, json_object *obj, const char *place, const char *key, double min,
                       double max, bool has_def, double def, double *ret)
{
    json_object *v = member(obj, key);
    double d;

    if (!v) {
        if (has_def) {
            *ret = def;
            return true;
        }
        return fail(p, place, "'%s' is missing", key);
    }
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return fail(p, place, "'%s' must be a number", key);
    d = json_object_get_double(v);
    if (!(d >= min && d <= max))
        return fail(p, place, "'%s' must be from %g to %g", key, min, max);
    *ret = d;
    return true;
}

static bool get_int(struct parse *p, json_object *obj, const char *place, const char *key, int min, int max,
                    int *ret)
{
    double d;

    if (!get_number(p, obj, place, key, min, max, false, 0, &d))
        return false;
    if (d != (double)(int)d)
        return fail(p, place, "'%s' must be a whole number", key);
    *ret = (int)d;
    return true;
}

static bool get_string(struct parse *p, json_object *obj, const char *place, const char *key, char *out,
                       size_t size, bool required)
{
    json_object *v = member(obj, key);
    const char *s;

    if (!v) {
        if (!required) {
            out[0] = '\0';
            return true;
        }
        return fail(p, place, "'%s' is missing", key);
    }
    if (!json_object_is_type(v, json_type_string))
        return fail(p, place, "'%s' must be a string", key);
    s = json_object_get_string(v);
    if (!s[0] || strlen(s) >= size)
        return fail(p, place, "'%s' must be 1 to %zu bytes", key, size - 1);
    memcpy(out, s, strlen(s) + 1);
    return true;
}

/* "#rrggbb" */
static bool get_colour(struct parse *p, json_object *obj, const char *place, const char *key, uint32_t *ret)
{
    char s[8];
    uint32_t v = 0;

    if (!get_string(p, obj, place, key, s, sizeof(s), true))
        return p->failed ? false : fail(p, place, "'%s' must be a colour \"#rrggbb\"", key);
    if (s[0] != '#' || strlen(s) != 7)
        return fail(p, place, "'%s' must be a colour \"#rrggbb\"", key);
    for (int i = 1; i < 7; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;

        if (d == 16)
            return fail(p, place, "'%s' must be a colour \"#rrggbb\"", key);
        v = v << 4 | d;
    }
    *ret = v;
    return true;
}

/* [x, y, w, h] inside the face */
static bool get_box(struct parse *p, json_object *obj, const char *place, const char *key,
                    struct printer_face_rect *ret)
{
    json_object *v = member(obj, key);
    double d[4];

    if (!v || !json_object_is_type(v, json_type_array) || json_object_array_length(v) != 4)
        return fail(p, place, "'%s' must be [x, y, width, height]", key);
    for (size_t i = 0; i < 4; i++) {
        json_object *e = json_object_array_get_idx(v, i);

        if (!json_object_is_type(e, json_type_int) && !json_object_is_type(e, json_type_double))
            return fail(p, place, "'%s' must be [x, y, width, height]", key);
        d[i] = json_object_get_double(e);
    }
    if (!(d[0] >= 0 && d[1] >= 0 && d[2] > 0 && d[3] > 0 && d[0] + d[2] <= PRINTER_FACE_WIDTH &&
          d[1] + d[3] <= PRINTER_FACE_HEIGHT))
        return fail(p, place, "'%s' must lie inside the %dx%d face", key, PRINTER_FACE_WIDTH,
                    PRINTER_FACE_HEIGHT);
    *ret = (struct printer_face_rect){d[0], d[1], d[2], d[3]};
    return true;
}

static json_object *get_object(struct parse *p, json_object *obj, const char *place, const char *key)
{
    json_object *v = member(obj, key);

    if (!v || !json_object_is_type(v, json_type_object)) {
        fail(p, place, "'%s' must be an object", key);
        return NULL;
    }
    return v;
}

static const struct {
    const char *name;
    int weight;
} weights[] = {
    {"thin", 100},     {"light", 300}, {"normal", 400}, {"medium", 500},
    {"semibold", 600}, {"bold", 700},  {"heavy", 900},
};

static const struct {
    const char *name;
    enum face_field field;
} fields[] = {
    {"name", FACE_FIELD_NAME},
    {"ssn", FACE_FIELD_SSN},
    {"card_number", FACE_FIELD_CARD_NUMBER},
    {"issue_date", FACE_FIELD_ISSUE_DATE},
    {"bank", FACE_FIELD_BANK},
    {"valid_until", FACE_FIELD_VALID_UNTIL},
};

static bool parse_text(struct parse *p, json_object *t, const char *place, struct face_slot *s)
{
    char buf[32];
    double d;

    if (!json_object_is_type(t, json_type_object))
        return fail(p, place, "must be an object");
    if (member(t, "field")) {
        if (!get_string(p, t, place, "field", buf, sizeof(buf), true))
            return false;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            if (strcmp(buf, fields[i].name) == 0)
                s->field = fields[i].field;
        if (s->field == FACE_FIELD_LITERAL)
            return fail(p, place,
                        "unknown field '%s' (name, ssn, card_number, issue_date, bank, valid_until)", buf);
        if (member(t, "text"))
            return fail(p, place, "give either 'field' or 'text', not both");
    } else if (!get_string(p, t, place, "text", s->text, sizeof(s->text), true)) {
        return p->failed ? false : fail(p, place, "needs 'field' or 'text'");
    }
    if (!get_box(p, t, place, "box", &s->box) ||
        !get_number(p, t, place, "baseline", s->box.y, s->box.y + s->box.h, false, 0, &s->baseline) ||
        !get_string(p, t, place, "font", s->family, sizeof(s->family), true) ||
        !get_number(p, t, place, "size", 4, 200, false, 0, &s->size) ||
        !get_number(p, t, place, "min_size", 4, s->size, true, s->size, &s->min_size) ||
        !get_number(p, t, place, "min_hscale", 0.3, 1, true, 1, &s->min_hscale) ||
        !get_colour(p, t, place, "colour", &s->colour))
        return false;
    s->weight = 400;
    if (!get_string(p, t, place, "weight", buf, sizeof(buf), false))
        return false;
    if (buf[0]) {
        s->weight = 0;
        for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
            if (strcmp(buf, weights[i].name) == 0)
                s->weight = weights[i].weight;
        if (!s->weight)
            return fail(p, place, "unknown weight '%s'", buf);
    }
    if (!get_string(p, t, place, "align", buf, sizeof(buf), false))
        return false;
    if (buf[0] && strcmp(buf, "left") != 0 && strcmp(buf, "right") != 0 && strcmp(buf, "justify") != 0)
        return fail(p, place, "'align' must be left, right or justify");
    s->align_right = strcmp(buf, "right") == 0;
    s->justify = strcmp(buf, "justify") == 0;
    if (!get_string(p, t, place, "panel", buf, sizeof(buf), false))
        return false;
    if (buf[0] && strcmp(buf, "k") != 0 && strcmp(buf, "colour") != 0)
        return fail(p, place, "'panel' must be \"k\" (resin black) or \"colour\"");
    s->resin = strcmp(buf, "k") == 0;
    if (s->resin && s->colour != 0)
        return fail(p, place, "text on the K panel must be black (#000000)");
    if (member(t, "two_lines")) {
        json_object *v = member(t, "two_lines");

        if (!json_object_is_type(v, json_type_boolean))
            return fail(p, place, "'two_lines' must be true or false");
        s->two_lines = json_object_get_boolean(v);
    }
    (void)d;
    return true;
}

static bool parse_layout(struct parse *p, json_object *root, struct printer_layout *l)
{
    json_object *o, *sub, *texts;
    char format[64];
    double d;

    if (!json_object_is_type(root, json_type_object))
        return fail(p, "", "the layout must be a JSON object");
    if (!get_string(p, root, "", "format", format, sizeof(format), true))
        return false;
    if (strcmp(format, LAYOUT_FORMAT) != 0)
        return fail(p, "format", "is '%s'; this cardline reads '%s'", format, LAYOUT_FORMAT);
    o = member(root, "size");
    if (!o || !json_object_is_type(o, json_type_array) || json_object_array_length(o) != 2 ||
        json_object_get_int(json_object_array_get_idx(o, 0)) != PRINTER_FACE_WIDTH ||
        json_object_get_int(json_object_array_get_idx(o, 1)) != PRINTER_FACE_HEIGHT)
        return fail(p, "size", "must be [%d, %d]", PRINTER_FACE_WIDTH, PRINTER_FACE_HEIGHT);
    if (!get_colour(p, root, "", "paper", &l->paper))
        return false;

    if (!(o = get_object(p, root, "", "background")) ||
        !get_colour(p, o, "background", "body_top", &l->body_top) ||
        !get_colour(p, o, "background", "body_bottom", &l->body_bottom))
        return false;
    if (!(sub = get_object(p, o, "background", "band")) ||
        !get_number(p, sub, "background.band", "height", 0, PRINTER_FACE_HEIGHT, false, 0, &l->band_height) ||
        !get_colour(p, sub, "background.band", "left", &l->band_left) ||
        !get_colour(p, sub, "background.band", "right", &l->band_right))
        return false;
    if (!(sub = get_object(p, o, "background", "rule")) ||
        !get_number(p, sub, "background.rule", "y", 0, PRINTER_FACE_HEIGHT, false, 0, &l->rule_y) ||
        !get_number(p, sub, "background.rule", "height", 0, PRINTER_FACE_HEIGHT, false, 0, &l->rule_height) ||
        !get_colour(p, sub, "background.rule", "colour", &l->rule))
        return false;
    if (!(sub = get_object(p, o, "background", "waves")) ||
        !get_int(p, sub, "background.waves", "count", 0, 64, &l->wave_count) ||
        !get_number(p, sub, "background.waves", "y", 0, PRINTER_FACE_HEIGHT, false, 0, &l->wave_y) ||
        !get_number(p, sub, "background.waves", "pitch", 0, PRINTER_FACE_HEIGHT, false, 0, &l->wave_pitch) ||
        !get_number(p, sub, "background.waves", "amplitude", 0, PRINTER_FACE_HEIGHT, false, 0,
                    &l->wave_amplitude) ||
        !get_int(p, sub, "background.waves", "period", 8, 4 * PRINTER_FACE_WIDTH, &l->wave_period) ||
        !get_int(p, sub, "background.waves", "shift", 0, 4 * PRINTER_FACE_WIDTH, &l->wave_shift) ||
        !get_number(p, sub, "background.waves", "width", 0.1, 20, false, 0, &l->wave_width) ||
        !get_colour(p, sub, "background.waves", "colour", &l->wave))
        return false;

    if (!(o = get_object(p, root, "", "chip")) || !get_box(p, o, "chip", "box", &l->chip) ||
        !get_number(p, o, "chip", "radius", 0, 50, false, 0, &l->chip_radius))
        return false;
    if (l->chip_radius * 2 > l->chip.w || l->chip_radius * 2 > l->chip.h)
        return fail(p, "chip", "'radius' is larger than half the box");
    if (!(o = get_object(p, root, "", "photo")) || !get_box(p, o, "photo", "box", &l->photo) ||
        !get_number(p, o, "photo", "frame_width", 0, 20, false, 0, &l->photo_frame_width) ||
        !get_colour(p, o, "photo", "frame", &l->photo_frame) ||
        !get_colour(p, o, "photo", "mat", &l->photo_mat) ||
        !get_colour(p, o, "photo", "placeholder", &l->photo_placeholder))
        return false;
    if (!(o = get_object(p, root, "", "fitting")) ||
        !get_number(p, o, "fitting", "shrink_step", 0.25, 20, false, 0, &l->shrink_step))
        return false;
    if (!(sub = get_object(p, o, "fitting", "name_two_lines")) ||
        !get_number(p, sub, "fitting.name_two_lines", "size", 4, 200, false, 0, &l->name_wrap_size) ||
        !get_number(p, sub, "fitting.name_two_lines", "min_size", 4, l->name_wrap_size, false, 0,
                    &l->name_wrap_min_size) ||
        !get_number(p, sub, "fitting.name_two_lines", "line_spacing", 0.8, 3, false, 0,
                    &l->name_wrap_line_spacing))
        return false;

    texts = member(root, "texts");
    if (!texts || !json_object_is_type(texts, json_type_array) || json_object_array_length(texts) == 0 ||
        json_object_array_length(texts) > FACE_TEXTS_MAX)
        return fail(p, "texts", "must be a list of 1 to %d text items", FACE_TEXTS_MAX);
    l->n_texts = json_object_array_length(texts);
    for (size_t i = 0; i < l->n_texts; i++) {
        char place[LAYOUT_WHY_PLACE];

        snprintf(place, sizeof(place), "texts[%zu]", i);
        if (!parse_text(p, json_object_array_get_idx(texts, i), place, &l->texts[i]))
            return false;
        for (size_t j = 0; j < i; j++)
            if (l->texts[i].field != FACE_FIELD_LITERAL && l->texts[j].field == l->texts[i].field)
                return fail(p, place, "the field appears twice");
    }
    /* the line cannot produce a card without these; a layout without valid_until renders no temporary card */
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
        if (fields[f].field != FACE_FIELD_BANK && fields[f].field != FACE_FIELD_VALID_UNTIL &&
            !printer_layout_slot(l, fields[f].field))
            return fail(p, "texts", "field '%s' is missing", fields[f].name);
    (void)d;
    return true;
}

const struct face_slot *printer_layout_slot(const struct printer_layout *layout, enum face_field field)
{
    if (!layout || field == FACE_FIELD_LITERAL)
        return NULL;
    for (size_t i = 0; i < layout->n_texts; i++)
        if (layout->texts[i].field == field)
            return &layout->texts[i];
    return NULL;
}

int printer_layout_parse(const char *json, size_t len, const char *name, struct printer_layout **ret,
                         char *ret_why, size_t why_size)
{
    struct parse p = {.name = name ? name : "layout", .why = ret_why, .why_size = why_size};
    struct json_tokener *tok;
    struct printer_layout *l;
    json_object *root;
    bool ok;

    if (!json || !ret || len > LAYOUT_FILE_MAX || len > INT32_MAX) {
        fail(&p, "", "larger than %d bytes", LAYOUT_FILE_MAX);
        return PRINTER_ERROR_LAYOUT;
    }
    tok = json_tokener_new();
    if (!tok)
        return PRINTER_ERROR_NOMEM;
    root = json_tokener_parse_ex(tok, json, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) < len) {
        enum json_tokener_error e = json_tokener_get_error(tok);

        fail(&p, "", "not valid JSON (%s, near byte %zu)",
             e == json_tokener_success || e == json_tokener_continue ? "unexpected end"
                                                                     : json_tokener_error_desc(e),
             json_tokener_get_parse_end(tok));
        json_object_put(root);
        json_tokener_free(tok);
        return PRINTER_ERROR_LAYOUT;
    }
    json_tokener_free(tok);
    l = calloc(1, sizeof(*l));
    if (!l) {
        json_object_put(root);
        return PRINTER_ERROR_NOMEM;
    }
    atomic_init(&l->cache, NULL);
    ok = parse_layout(&p, root, l);
    json_object_put(root);
    if (!ok) {
        free(l);
        return PRINTER_ERROR_LAYOUT;
    }
    *ret = l;
    return 0;
}

int printer_layout_load(const char *path, struct printer_layout **ret, char *ret_why, size_t why_size)
{
    char *buf;
    size_t len;
    FILE *f;
    int r;

    if (!ret)
        return PRINTER_ERROR_INVALID;
    if (!path)
        path = printer_layout_default_path();
    f = fopen(path, "rbe");
    if (!f) {
        if (ret_why && why_size)
            snprintf(ret_why, why_size,
                     "%s: cannot read the card layout (%m); set CARDLINE_LAYOUT to the layout file", path);
        return PRINTER_ERROR_LAYOUT;
    }
    buf = malloc(LAYOUT_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return PRINTER_ERROR_NOMEM;
    }
    len = fread(buf, 1, LAYOUT_FILE_MAX + 1, f);
    if (ferror(f)) {
        if (ret_why && why_size)
            snprintf(ret_why, why_size, "%s: cannot read the card layout", path);
        fclose(f);
        free(buf);
        return PRINTER_ERROR_LAYOUT;
    }
    fclose(f);
    buf[len > LAYOUT_FILE_MAX ? LAYOUT_FILE_MAX : len] = '\0';
    r = printer_layout_parse(buf, len, path, ret, ret_why, why_size);
    free(buf);
    return r;
}

void printer_layout_free(struct printer_layout *layout)
{
    if (!layout)
        return;
    printer_face_cache_free(atomic_load(&layout->cache));
    free(layout);
}
