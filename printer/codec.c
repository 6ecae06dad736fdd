/* codec.c — Evolis and Magicard frames, panel downloads, print jobs, and the parsing of their replies */
#include "codec.h"
#include "printer-private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Evolis NACKs: "ERROR <words>". A keyword matches the start of any word; the first row that matches
 * wins, the empty keyword last. Causes are what operators read (README, "What the errors mean"). */
static const struct printer_fault evolis_faults[] = {
    {"FEEDER", "feeder empty", PRINTER_DISPOSITION_PAUSE_LINE},
    {"RIBBON", "ribbon out", PRINTER_DISPOSITION_PAUSE_LINE},
    {"COVER", "cover open", PRINTER_DISPOSITION_PAUSE_LINE},
    {"JAM", "card jam", PRINTER_DISPOSITION_PAUSE_LINE},
    {"MECHANICAL", "card jam", PRINTER_DISPOSITION_PAUSE_LINE},
    {"TIMEOUT", "card jam", PRINTER_DISPOSITION_PAUSE_LINE},
    {"REJECT", "reject box full", PRINTER_DISPOSITION_PAUSE_LINE},
    {"HOPPER", "output hopper full", PRINTER_DISPOSITION_PAUSE_LINE},
    {"MAG", "magnetic stripe error", PRINTER_DISPOSITION_REJECT_CARD},
    {"HEAD", "print head fault", PRINTER_DISPOSITION_REJECT_CARD},
    {"CDE", "printer refused a command", PRINTER_DISPOSITION_PAUSE_LINE},
    {"COMMAND", "printer refused a command", PRINTER_DISPOSITION_PAUSE_LINE},
    {"PAR", "printer refused a parameter", PRINTER_DISPOSITION_PAUSE_LINE},
    {"", "printer error", PRINTER_DISPOSITION_PAUSE_LINE},
};

/* Magicard status phrases (the fields of a status reply); the first row that matches wins. */
static const struct printer_fault magicard_faults[] = {
    {"NO CARDS", "feeder empty", PRINTER_DISPOSITION_PAUSE_LINE},
    {"HOPPER EMPTY", "feeder empty", PRINTER_DISPOSITION_PAUSE_LINE},
    {"RIBBON OUT", "ribbon out", PRINTER_DISPOSITION_PAUSE_LINE},
    {"NO RIBBON", "ribbon out", PRINTER_DISPOSITION_PAUSE_LINE},
    {"LID OPEN", "cover open", PRINTER_DISPOSITION_PAUSE_LINE},
    {"CARD JAM", "card jam", PRINTER_DISPOSITION_PAUSE_LINE},
    {"REJECT FULL", "reject box full", PRINTER_DISPOSITION_PAUSE_LINE},
    {"HOPPER FULL", "output hopper full", PRINTER_DISPOSITION_PAUSE_LINE},
    {"MAG ERROR", "magnetic stripe error", PRINTER_DISPOSITION_REJECT_CARD},
    {"HEAD ERROR", "print head fault", PRINTER_DISPOSITION_REJECT_CARD},
    {"ERROR", "printer error", PRINTER_DISPOSITION_PAUSE_LINE},
};

static bool printable(uint8_t c)
{
    return c >= 0x20 && c < 0x7f;
}

static bool valid_command(const char *cmd, size_t max)
{
    size_t len = strnlen(cmd, max + 1);

    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!printable((uint8_t)cmd[i]))
            return false;
    return true;
}

int evolis_encode(const char *cmd, uint8_t *out, size_t size)
{
    size_t len;

    if (!cmd || !out || !valid_command(cmd, EVOLIS_CMD_MAX))
        return PRINTER_ERROR_INVALID;
    len = strlen(cmd);
    if (size < len + 2)
        return PRINTER_ERROR_INVALID;
    out[0] = EVOLIS_ESC;
    memcpy(out + 1, cmd, len);
    out[len + 1] = EVOLIS_CR;
    return (int)(len + 2);
}

unsigned evolis_bits_code(unsigned bits)
{
    switch (bits) {
    case 1:
        return 2;
    case 5:
        return 32;
    case 6:
        return 64;
    case 7:
        return 128;
    default:
        return 0;
    }
}

static int evolis_panel_header(char panel, unsigned bits, char *out, size_t size)
{
    unsigned code = evolis_bits_code(bits);
    int n;

    if (!code || !strchr("ymcko", panel) || !panel)
        return PRINTER_ERROR_INVALID;
    /* resin and overlay are 1 bit; dyes are continuous tone */
    if ((panel == 'k' || panel == 'o') != (bits == 1))
        return PRINTER_ERROR_INVALID;
    n = snprintf(out, size, "%cDb;%c;%u;", EVOLIS_ESC, panel, code);
    if (n < 0 || (size_t)n >= size)
        return PRINTER_ERROR_INVALID;
    return n;
}

size_t evolis_panel_frame_size(unsigned bits)
{
    char header[32];
    int n = evolis_panel_header(bits == 1 ? 'k' : 'y', bits, header, sizeof(header));

    if (n < 0)
        return 0;
    return (size_t)n + printer_packed_size(PRINTER_PANEL_PIXELS, bits) + 1;
}

int evolis_encode_panel(char panel, unsigned bits, const uint8_t *samples, uint8_t *out, size_t size)
{
    char header[32];
    size_t data;
    int n;

    if (!samples || !out)
        return PRINTER_ERROR_INVALID;
    n = evolis_panel_header(panel, bits, header, sizeof(header));
    if (n < 0)
        return n;
    data = printer_packed_size(PRINTER_PANEL_PIXELS, bits);
    if (size < (size_t)n + data + 1 || (size_t)n + data + 1 > INT32_MAX)
        return PRINTER_ERROR_INVALID;
    memcpy(out, header, (size_t)n);
    if (bits == 1)
        printer_pack_1bpp(samples, PRINTER_PANEL_PIXELS, out + n);
    else
        printer_pack_levels(samples, PRINTER_PANEL_PIXELS, bits, out + n);
    out[(size_t)n + data] = EVOLIS_CR;
    return (int)((size_t)n + data + 1);
}

/* Copies the printable text of buf[0..len) into ret->text, trimmed of spaces and line ends. */
static int reply_text(const uint8_t *buf, size_t len, struct printer_reply *ret)
{
    size_t start = 0, end = len, n;

    while (end > start &&
           (buf[end - 1] == '\r' || buf[end - 1] == '\n' || buf[end - 1] == ' ' || buf[end - 1] == '\0'))
        end--;
    while (start < end && buf[start] == ' ')
        start++;
    if (start == end)
        return PRINTER_ERROR_PROTOCOL;
    for (size_t i = start; i < end; i++)
        if (!printable(buf[i]))
            return PRINTER_ERROR_PROTOCOL;
    n = end - start;
    if (n >= sizeof(ret->text))
        n = sizeof(ret->text) - 1;
    memcpy(ret->text, buf + start, n);
    ret->text[n] = '\0';
    return 0;
}

static bool word_starts_with(const char *text, const char *key)
{
    size_t klen = strlen(key);

    for (const char *w = text; *w;) {
        while (*w == ' ' || *w == ',' || *w == ';' || *w == ':')
            w++;
        if (!*w)
            break;
        if (strncmp(w, key, klen) == 0)
            return true;
        while (*w && *w != ' ' && *w != ',' && *w != ';' && *w != ':')
            w++;
    }
    return false;
}

int evolis_parse_reply(const uint8_t *buf, size_t len, struct printer_reply *ret)
{
    struct printer_reply r = {0};
    int err;

    if (!buf || !ret)
        return PRINTER_ERROR_INVALID;
    err = reply_text(buf, len, &r);
    if (err < 0)
        return err;
    if (strcmp(r.text, "OK") == 0) {
        r.kind = PRINTER_REPLY_OK;
    } else if (strncmp(r.text, "ERROR", 5) == 0 && (r.text[5] == '\0' || r.text[5] == ' ')) {
        r.kind = PRINTER_REPLY_ERROR;
        for (size_t i = 0; i < sizeof(evolis_faults) / sizeof(evolis_faults[0]); i++) {
            if (!evolis_faults[i].match[0] || word_starts_with(r.text + 5, evolis_faults[i].match)) {
                r.fault = &evolis_faults[i];
                break;
            }
        }
    } else {
        r.kind = PRINTER_REPLY_VALUE;
    }
    *ret = r;
    return 0;
}

int evolis_parse_position(const char *text, enum printer_card_position *ret)
{
    if (!text || !ret)
        return PRINTER_ERROR_INVALID;
    if (strcmp(text, "OK") == 0)
        *ret = PRINTER_CARD_NONE;
    else if (strstr(text, "CONTACTLESS"))
        *ret = PRINTER_CARD_CONTACTLESS;
    else if (strstr(text, "SMART"))
        *ret = PRINTER_CARD_CONTACT;
    else if (strstr(text, "CARD"))
        *ret = PRINTER_CARD_PRINT;
    else
        return PRINTER_ERROR_PROTOCOL;
    return 0;
}

int evolis_parse_feeder(const char *text, int *ret)
{
    unsigned whole = 0, frac = 0, digits = 0;
    const char *p = text;

    if (!text || !ret)
        return PRINTER_ERROR_INVALID;
    /* "5,00 Volts": the sensor sees cards at about 5 V and none at 0 V; 2.5 V splits the two */
    if (*p < '0' || *p > '9')
        return PRINTER_ERROR_PROTOCOL;
    while (*p >= '0' && *p <= '9' && whole < 1000)
        whole = whole * 10 + (unsigned)(*p++ - '0');
    if (*p == ',' || *p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits < 2)
                frac = frac * 10 + (unsigned)(*p - '0');
            digits++;
            p++;
        }
    }
    while (digits < 2) {
        frac *= 10;
        digits++;
    }
    if (strcmp(p, " Volts") != 0 && strcmp(p, " V") != 0 && strcmp(p, "V") != 0)
        return PRINTER_ERROR_PROTOCOL;
    *ret = whole * 100 + frac >= 250;
    return 0;
}

/* --- Magicard
 * ------------------------------------------------------------------------------------------------ */

int magicard_encode(const char *cmd, uint8_t *out, size_t size)
{
    size_t len;

    if (!cmd || !out || !valid_command(cmd, MAGICARD_CMD_MAX))
        return PRINTER_ERROR_INVALID;
    len = strlen(cmd);
    if (size < MAGICARD_CMD_GUARDS + 1 + len + 2)
        return PRINTER_ERROR_INVALID;
    memset(out, MAGICARD_GUARD, MAGICARD_CMD_GUARDS);
    out[MAGICARD_CMD_GUARDS] = MAGICARD_SOH;
    memcpy(out + MAGICARD_CMD_GUARDS + 1, cmd, len);
    out[MAGICARD_CMD_GUARDS + 1 + len] = MAGICARD_FS;
    out[MAGICARD_CMD_GUARDS + 2 + len] = MAGICARD_ETX;
    return (int)(MAGICARD_CMD_GUARDS + 3 + len);
}

/* The job settings (printers.md): YMCKO ribbon (LC1), B/G/R colour planes plus K, one copy, overlay on,
 * the printer rejects cards it spoils, no duplex. */
static int magicard_job_header(char *out, size_t size)
{
    return snprintf(out, size,
                    ",IMFBGRK,SZB%zu,SZG%zu,SZR%zu,SZK%zu,LC1,DPXOFF,OVRON,REJON,HGT%u,WID%u,ESS1,",
                    PRINTER_MAGICARD_DYE_SIZE, PRINTER_MAGICARD_DYE_SIZE, PRINTER_MAGICARD_DYE_SIZE,
                    PRINTER_MAGICARD_K_SIZE, PRINTER_PANEL_LINES, PRINTER_MAGICARD_WIDTH);
}

size_t magicard_job_size(void)
{
    char header[256];
    int n = magicard_job_header(header, sizeof(header));

    /* guards, SOH, header, FS, then per plane FS + letter + ':' + data, then ETX */
    return MAGICARD_JOB_GUARDS + 1 + (size_t)n + 1 + 3 * (3 + PRINTER_MAGICARD_DYE_SIZE) +
           (3 + PRINTER_MAGICARD_K_SIZE) + 1;
}

int magicard_encode_job(const struct printer_panels *panels, uint8_t *out, size_t size)
{
    char header[256];
    const struct {
        char letter;
        const uint8_t *samples;
    } planes[] = {{'B', panels ? panels->y : NULL},
                  {'G', panels ? panels->m : NULL},
                  {'R', panels ? panels->c : NULL},
                  {'K', panels ? panels->k : NULL}};
    size_t total = magicard_job_size(), o = 0;
    int n;

    if (!panels || !out || size < total || total > INT32_MAX)
        return PRINTER_ERROR_INVALID;
    n = magicard_job_header(header, sizeof(header));
    memset(out, MAGICARD_GUARD, MAGICARD_JOB_GUARDS);
    o = MAGICARD_JOB_GUARDS;
    out[o++] = MAGICARD_SOH;
    memcpy(out + o, header, (size_t)n);
    o += (size_t)n;
    out[o++] = MAGICARD_FS;
    for (size_t i = 0; i < sizeof(planes) / sizeof(planes[0]); i++) {
        out[o++] = MAGICARD_FS;
        out[o++] = (uint8_t)planes[i].letter;
        out[o++] = ':';
        if (planes[i].letter == 'K') {
            printer_pack_magicard_k(planes[i].samples, out + o);
            o += PRINTER_MAGICARD_K_SIZE;
        } else {
            printer_pack_magicard_dye(planes[i].samples, out + o);
            o += PRINTER_MAGICARD_DYE_SIZE;
        }
    }
    out[o++] = MAGICARD_ETX;
    return (int)o;
}

int magicard_parse_reply(const uint8_t *buf, size_t len, struct printer_reply *ret)
{
    struct printer_reply r = {0};
    size_t end;
    int err;

    if (!buf || !ret)
        return PRINTER_ERROR_INVALID;
    /* 0x01, text, then 0x1C 0x03 (or 0x2C 0x03, or a bare 0x03) */
    if (len < 2 || buf[0] != MAGICARD_SOH || buf[len - 1] != MAGICARD_ETX)
        return PRINTER_ERROR_PROTOCOL;
    end = len - 1;
    if (end > 1 && (buf[end - 1] == MAGICARD_FS || buf[end - 1] == ','))
        end--;
    err = reply_text(buf + 1, end - 1, &r);
    if (err < 0)
        return err;
    r.kind = PRINTER_REPLY_VALUE;
    *ret = r;
    return 0;
}

/* Whether phrase is one of the comma-separated fields of text. */
static bool has_field(const char *text, const char *phrase)
{
    size_t plen = strlen(phrase);

    for (const char *f = text; f && *f; f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL)
        if (strncmp(f, phrase, plen) == 0 && (f[plen] == ',' || f[plen] == '\0'))
            return true;
    return false;
}

int magicard_parse_status(const char *text, struct magicard_status *ret)
{
    struct magicard_status s = {.fault = NULL, .busy = false, .card = PRINTER_CARD_NONE, .feeder = -1};
    bool known = false;

    if (!text || !ret)
        return PRINTER_ERROR_INVALID;
    /* replies echo the request ("STA,MSR,...") before the state */
    if (strncmp(text, "STA,", 4) != 0)
        return PRINTER_ERROR_PROTOCOL;
    for (size_t i = 0; i < sizeof(magicard_faults) / sizeof(magicard_faults[0]); i++) {
        if (has_field(text, magicard_faults[i].match)) {
            s.fault = &magicard_faults[i];
            known = true;
            break;
        }
    }
    if (has_field(text, "READY"))
        known = true;
    if (has_field(text, "BUSY"))
        known = s.busy = true;
    if (has_field(text, "CARD PRINT"))
        s.card = PRINTER_CARD_PRINT;
    else if (has_field(text, "CARD CHIP"))
        s.card = PRINTER_CARD_CONTACT;
    if (has_field(text, "NO CARDS") || has_field(text, "HOPPER EMPTY"))
        s.feeder = 0;
    else if (has_field(text, "CARDS"))
        s.feeder = 1;
    if (!known)
        return PRINTER_ERROR_PROTOCOL;
    *ret = s;
    return 0;
}

/* --- IEEE-1284 device ID
 * -------------------------------------------------------------------------------------- */

/* Keys of the IEEE-1284 device ID and their long spellings. */
static const struct {
    const char *key;
    const char *alias[3];
} device_id_aliases[] = {
    {"MFG", {"MANUFACTURER", NULL, NULL}},
    {"MDL", {"MODEL", NULL, NULL}},
    {"SN", {"SERN", "SERIALNUMBER", NULL}},
    {"CMD", {"COMMAND SET", NULL, NULL}},
};

static bool device_id_key_is(const char *have, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(have, want, len) == 0;
}

int printer_device_id_field(const char *device_id, const char *key, char *out, size_t size)
{
    const char *p = device_id;

    if (!device_id || !key || !out || size == 0)
        return PRINTER_ERROR_INVALID;
    while (*p) {
        const char *colon = strchr(p, ':'), *end;
        size_t klen, vlen;
        bool match;

        if (!colon)
            break;
        end = strchr(colon + 1, ';');
        if (!end)
            end = colon + 1 + strlen(colon + 1);
        while (*p == ' ')
            p++;
        klen = (size_t)(colon - p);
        match = device_id_key_is(p, klen, key);
        for (size_t i = 0; !match && i < sizeof(device_id_aliases) / sizeof(device_id_aliases[0]); i++) {
            if (strcasecmp(device_id_aliases[i].key, key) != 0)
                continue;
            for (size_t a = 0; !match && a < 3 && device_id_aliases[i].alias[a]; a++)
                match = device_id_key_is(p, klen, device_id_aliases[i].alias[a]);
        }
        if (match) {
            const char *v = colon + 1;

            while (v < end && *v == ' ')
                v++;
            vlen = (size_t)(end - v);
            while (vlen > 0 && v[vlen - 1] == ' ')
                vlen--;
            if (vlen >= size)
                vlen = size - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p = *end ? end + 1 : end;
    }
    return PRINTER_ERROR_INVALID;
}
