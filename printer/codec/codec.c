/* codec.c — Evolis and Magicard frames, panel downloads, print jobs, and the parsing of their replies */
#include "codec/codec.h"
#include "printer-private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The only Evolis reply texts the Programming Guide (A5013 Rev E) gives a meaning to, besides "OK" and the
 * `Rlr;p` answers: p. 34, `Rlr;r` "Returns ERR NEED CLEANING ... if the cleaning counter is out". Any
 * other text is a failure quoted as is: no "ERROR <word>" family exists in the guide. */
static const struct printer_fault evolis_faults[] = {
    {"ERR NEED CLEANING", "cleaning due", PRINTER_DISPOSITION_PAUSE_LINE},
};

/* UltraDriver error_codes.h: STA$$ major/minor error codes (fields 19/20) and what the line does. */
static const struct magicard_error magicard_errors[] = {
    {1024, "feature unavailable", PRINTER_DISPOSITION_PAUSE_LINE},
    {1025, "feeder empty", PRINTER_DISPOSITION_PAUSE_LINE},
    {1026, "card jam", PRINTER_DISPOSITION_PAUSE_LINE},
    {1027, "card jam (flipper)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1028, "printer refused a job option", PRINTER_DISPOSITION_PAUSE_LINE},
    {1029, "heated roller fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1030, "heated roller fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1031, "print roller cam fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1032, "ribbon fault (dye panel timeout)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1033, "ribbon fault (dye panel not on this film)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1034, "ribbon fault (transfer panel timeout)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1035, "magnetic stripe error", PRINTER_DISPOSITION_REJECT_CARD},
    {1036, "magnetic stripe error", PRINTER_DISPOSITION_REJECT_CARD},
    {1037, "magnetic stripe error (verify failed)", PRINTER_DISPOSITION_REJECT_CARD},
    {1038, "cover open", PRINTER_DISPOSITION_PAUSE_LINE},
    {1041, "ribbon out (transfer film expired)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1042, "ribbon out (dye film expired)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1043, "ribbon out (both films expired)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1044, "LED calibration fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1045, "LED calibration fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1046, "ribbon out (dye film not found)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1047, "ribbon out (transfer film not found)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1048, "wrong film fitted", PRINTER_DISPOSITION_PAUSE_LINE},
    {1049, "ribbon out (no film)", PRINTER_DISPOSITION_PAUSE_LINE},
    {1050, "print head temperature timeout", PRINTER_DISPOSITION_PAUSE_LINE},
    {1051, "printer memory card fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1052, "printer memory card fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1053, "printer memory card fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1055, "partner code fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1056, "partner code fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {1057, "printer file read fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {2048, "cleaning due", PRINTER_DISPOSITION_PAUSE_LINE},
    {2049, "calibration required", PRINTER_DISPOSITION_PAUSE_LINE},
    {2050, "cleaning cycle fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {2051, "cleaning cycle fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {2052, "cleaning cycle fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {2053, "cleaning cycle fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {2054, "cleaning cycle fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {2055, "cleaning cycle fault", PRINTER_DISPOSITION_PAUSE_LINE},
    {8191, "printer error (miscellaneous)", PRINTER_DISPOSITION_PAUSE_LINE},
    {9000, "printer over temperature", PRINTER_DISPOSITION_PAUSE_LINE},
    {9001, "printer over temperature", PRINTER_DISPOSITION_PAUSE_LINE},
    {9002, "printer sensor disconnected", PRINTER_DISPOSITION_PAUSE_LINE},
    {9003, "printer sensor disconnected", PRINTER_DISPOSITION_PAUSE_LINE},
};
static const struct magicard_error magicard_error_unknown = {0, "printer error",
                                                             PRINTER_DISPOSITION_PAUSE_LINE};

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

int evolis_parse_reply(const uint8_t *buf, size_t len, struct printer_reply *ret)
{
    struct printer_reply r = {0};
    int err;

    if (!buf || !ret)
        return PRINTER_ERROR_INVALID;
    err = reply_text(buf, len, &r);
    if (err < 0)
        return err;
    r.kind = strcmp(r.text, "OK") == 0 ? PRINTER_REPLY_OK : PRINTER_REPLY_VALUE;
    *ret = r;
    return 0;
}

const struct printer_fault *evolis_reply_fault(const char *text)
{
    for (size_t i = 0; text && i < sizeof(evolis_faults) / sizeof(evolis_faults[0]); i++)
        if (strcmp(text, evolis_faults[i].match) == 0)
            return &evolis_faults[i];
    return NULL;
}

int evolis_parse_position(const char *text, enum printer_card_position *ret)
{
    if (!text || !ret)
        return PRINTER_ERROR_INVALID;
    if (strcmp(text, "NO CARD") == 0)
        *ret = PRINTER_CARD_NONE;
    else if (strcmp(text, "ERR CARD") == 0)
        *ret = PRINTER_CARD_UNKNOWN;
    else
        return PRINTER_ERROR_PROTOCOL;
    return 0;
}

/* A decimal number of at most 9 digits, nothing else. */
static int parse_decimal(const char *s, size_t len, long *ret)
{
    long v = 0;

    if (len == 0 || len > 9)
        return PRINTER_ERROR_PROTOCOL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return PRINTER_ERROR_PROTOCOL;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

int evolis_parse_counter(const char *text, long *ret)
{
    if (!text || !ret)
        return PRINTER_ERROR_INVALID;
    return parse_decimal(text, strlen(text), ret);
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

unsigned magicard_margin(unsigned head_position)
{
    unsigned pos = head_position ? head_position : MAGICARD_HEAD_POSITION_DEFAULT;

    if (pos < MAGICARD_HEAD_POSITION_MIN)
        pos = MAGICARD_HEAD_POSITION_MIN;
    if (pos > MAGICARD_HEAD_POSITION_MAX)
        pos = MAGICARD_HEAD_POSITION_MAX;
    return MAGICARD_HEAD_POSITION_MAX - pos;
}

size_t magicard_row_bytes(enum magicard_layout layout)
{
    return layout == MAGICARD_LAYOUT_KEE ? PRINTER_MAGICARD_KEE_ROW : PRINTER_MAGICARD_KGE_ROW;
}

/* The header fields in the order rastertoultra.c OutputHeaderCommand writes them for a simplex YMCK front
 * (golden: ",NOC1,VER1.16-F1.0,LANENG,TDT...,KGE2,SLWON,...,SZK97536"); no comma before the 0x1C. */
/* --- Magnetic stripe (ISO/IEC 7811-2, 7813) ----------------------------------------------------------- */

static const unsigned mag_max[PRINTER_MAG_TRACKS] = {PRINTER_MAG_TRACK1_MAX, PRINTER_MAG_TRACK2_MAX,
                                                     PRINTER_MAG_TRACK3_MAX};

/* Whether c may stand in the data of track (0-based): ISO 7811-2's 6-bit set (0x20..0x5F) on track 1 and
 * 4-bit set (0x30..0x3F) on tracks 2 and 3, less the sentinels, which only the printer writes. */
static bool mag_char_ok(unsigned track, unsigned char c)
{
    if (track == 0)
        return c >= 0x20 && c <= 0x5f && c != '%' && c != '?';
    return c >= 0x30 && c <= 0x3f && c != ';' && c != '?';
}

int printer_mag_check(const struct printer_mag *mag, char *ret_why, size_t why_size)
{
    char why[160] = "";
    unsigned written = 0;

    if (!mag) {
        snprintf(why, sizeof(why), "no magnetic tracks");
    } else if (mag->coercivity != PRINTER_MAG_HICO && mag->coercivity != PRINTER_MAG_LOCO) {
        snprintf(why, sizeof(why), "unknown coercivity %d", (int)mag->coercivity);
    } else {
        for (unsigned t = 0; t < PRINTER_MAG_TRACKS && !why[0]; t++) {
            const char *d = mag->track[t];
            size_t len = d ? strlen(d) : 0;

            if (!len)
                continue;
            written++;
            if (len > mag_max[t]) {
                snprintf(why, sizeof(why), "magnetic track %u: %zu characters, at most %u (ISO 7813)", t + 1,
                         len, mag_max[t]);
                break;
            }
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)d[i];

                if (!mag_char_ok(t, c)) {
                    /* the code, not the character: the rest of the track is card data */
                    snprintf(why, sizeof(why),
                             "magnetic track %u: character %zu (0x%02X) is not in the %s (ISO 7811-2)%s",
                             t + 1, i + 1, c, t == 0 ? "6-bit alphanumeric set" : "4-bit numeric set",
                             c == '%' || c == ';' || c == '?' ? "; sentinels are the printer's" : "");
                    break;
                }
            }
        }
        if (!why[0] && !written)
            snprintf(why, sizeof(why), "no magnetic track has data");
    }
    if (!why[0])
        return 0;
    if (ret_why && why_size)
        snprintf(ret_why, why_size, "%s", why);
    return PRINTER_ERROR_INVALID;
}

int magicard_mag_fields(const struct printer_mag *mag, char *out, size_t size)
{
    static const char start[PRINTER_MAG_TRACKS] = {'%', ';', ';'}; /* magencd.h ISO_STARTSENTINEL_TRACKn */
    size_t o = 0;
    int n;

    if (!out || !size)
        return PRINTER_ERROR_INVALID;
    out[0] = '\0';
    if (!mag)
        return 0;
    if (printer_mag_check(mag, NULL, 0) < 0)
        return PRINTER_ERROR_INVALID;
    /* the header is comma separated: a track 1 comma would end the field (magencd.c treats ',' apart) */
    if (mag->track[0] && strchr(mag->track[0], ','))
        return PRINTER_ERROR_INVALID;
    n = snprintf(out, size, "MGVON,%s", mag->coercivity == PRINTER_MAG_LOCO ? "COEL," : "COEH,");
    if (n < 0 || (size_t)n >= size)
        return PRINTER_ERROR_INVALID;
    o = (size_t)n;
    for (unsigned t = 0; t < PRINTER_MAG_TRACKS; t++) {
        if (!mag->track[t] || !mag->track[t][0])
            continue;
        n = snprintf(out + o, size - o, "MAG%u,%c%s?,", t + 1, start[t], mag->track[t]);
        if (n < 0 || (size_t)n >= size - o)
            return PRINTER_ERROR_INVALID;
        o += (size_t)n;
    }
    return (int)o;
}

int evolis_mag_download(unsigned track, const char *data, char *out, size_t size)
{
    struct printer_mag one = {.coercivity = PRINTER_MAG_HICO};
    int n;

    if (track < 1 || track > PRINTER_MAG_TRACKS || !data || !out)
        return PRINTER_ERROR_INVALID;
    one.track[track - 1] = data;
    if (printer_mag_check(&one, NULL, 0) < 0)
        return PRINTER_ERROR_INVALID;
    n = snprintf(out, size, "Dm;%u;%s", track, data);
    if (n < 0 || (size_t)n >= size)
        return PRINTER_ERROR_INVALID;
    return n;
}

/* s without spaces at either end: *ret_len characters from the returned pointer */
static const char *mag_trim(const char *s, size_t *ret_len)
{
    size_t len = strlen(s);

    while (*s == ' ')
        s++, len--;
    while (len && s[len - 1] == ' ')
        len--;
    *ret_len = len;
    return s;
}

bool evolis_mag_verify(unsigned track, const char *written, const char *reply_text)
{
    const char *w, *r;
    size_t wl, rl;

    if (track < 1 || track > PRINTER_MAG_TRACKS || !written || !reply_text)
        return false;
    r = reply_text;
    rl = strlen(r);
    if (rl >= 2 && r[0] == (track == 1 ? '%' : ';') && r[rl - 1] == '?') {
        char inner[PRINTER_REPLY_MAX];

        snprintf(inner, sizeof(inner), "%.*s", (int)(rl - 2), r + 1);
        return evolis_mag_verify(track, written, inner);
    }
    w = mag_trim(written, &wl);
    r = mag_trim(reply_text, &rl);
    return wl == rl && memcmp(w, r, wl) == 0;
}

static int magicard_job_header(const struct magicard_job_params *jp, char *out, size_t size)
{
    size_t dye = PRINTER_MAGICARD_BITS * PRINTER_PANEL_LINES * magicard_row_bytes(jp->layout),
           k = PRINTER_PANEL_LINES * magicard_row_bytes(jp->layout);
    char hole[48] = "", mag[400];
    int n;

    if (magicard_mag_fields(jp->mag, mag, sizeof(mag)) < 0)
        return PRINTER_ERROR_INVALID;
    if (jp->hole)
        snprintf(hole, sizeof(hole), ",NCT%u,%u,%u,%u", jp->hole->left, jp->hole->bottom, jp->hole->right,
                 jp->hole->top);
    n = snprintf(
        out, size,
        ",NOC1,VER1.16%s%s,LANENG,TDT%08X,%s%s%s,SLWON,DPXOFF,PAG1,IMFBGRK,XCO0,YCO0,WID%u,HGT%u,OVRON,"
        "NNNOFF,USFOFF,PCT0,0,%u,%u%s,ICC0,DDD50,SZB%zu,SZG%zu,SZR%zu,SZK%zu",
        jp->firmware && jp->firmware[0] ? "-" : "", jp->firmware ? jp->firmware : "", (unsigned)jp->tdt, mag,
        jp->head_id, jp->rio ? ",RT2" : "", PRINTER_PANEL_LINES, PRINTER_MAGICARD_WIDTH,
        jp->rio ? 1025u : PRINTER_PANEL_LINES - 1, PRINTER_MAGICARD_WIDTH - 1, hole, dye, dye, dye, k);
    if (n < 0 || (size_t)n >= size)
        return PRINTER_ERROR_INVALID;
    return n;
}

static bool job_params_valid(const struct magicard_job_params *jp)
{
    if (!jp || !jp->head_id || !valid_command(jp->head_id, 8) || strchr(jp->head_id, ','))
        return false;
    if (jp->layout != MAGICARD_LAYOUT_KEE && jp->layout != MAGICARD_LAYOUT_KGE)
        return false;
    if (jp->firmware && (strlen(jp->firmware) > 15 || strchr(jp->firmware, ',') ||
                         (jp->firmware[0] && !valid_command(jp->firmware, 15))))
        return false;
    return true;
}

size_t magicard_job_size(const struct magicard_job_params *jp)
{
    char header[1024];
    size_t row;
    int n;

    if (!job_params_valid(jp))
        return 0;
    n = magicard_job_header(jp, header, sizeof(header));
    if (n < 0)
        return 0;
    row = magicard_row_bytes(jp->layout);
    /* guards, SOH, header, FS, then per plane its data and FS + letter + ':', then ETX */
    return MAGICARD_JOB_GUARDS + 1 + (size_t)n + 1 +
           3 * (PRINTER_MAGICARD_BITS * PRINTER_PANEL_LINES * row + 3) + (PRINTER_PANEL_LINES * row + 3) + 1;
}

int magicard_encode_job(const struct magicard_job_params *jp, const struct printer_panels *panels,
                        uint8_t *out, size_t size)
{
    char header[1024];
    const struct {
        char letter;
        const uint8_t *samples;
    } planes[] = {{'B', panels ? panels->y : NULL},
                  {'G', panels ? panels->m : NULL},
                  {'R', panels ? panels->c : NULL},
                  {'K', panels ? panels->k : NULL}};
    size_t total = magicard_job_size(jp), o;
    unsigned margin;
    int n;

    if (!panels || !out || total == 0 || size < total || total > INT32_MAX)
        return PRINTER_ERROR_INVALID;
    n = magicard_job_header(jp, header, sizeof(header));
    margin = magicard_margin(jp->head_position);
    memset(out, MAGICARD_GUARD, MAGICARD_JOB_GUARDS);
    o = MAGICARD_JOB_GUARDS;
    out[o++] = MAGICARD_SOH;
    memcpy(out + o, header, (size_t)n);
    o += (size_t)n;
    out[o++] = MAGICARD_FS;
    for (size_t i = 0; i < sizeof(planes) / sizeof(planes[0]); i++) {
        if (planes[i].letter == 'K')
            o += printer_pack_magicard_k(planes[i].samples, jp->layout == MAGICARD_LAYOUT_KGE, margin,
                                         out + o);
        else
            o += printer_pack_magicard_dye(planes[i].samples, jp->layout == MAGICARD_LAYOUT_KGE, margin,
                                           out + o);
        /* command.h: the plane terminator comes after its data */
        out[o++] = MAGICARD_FS;
        out[o++] = (uint8_t)planes[i].letter;
        out[o++] = ':';
    }
    out[o++] = MAGICARD_ETX;
    return (int)o;
}

const struct magicard_error *magicard_error_lookup(unsigned code)
{
    for (size_t i = 0; i < sizeof(magicard_errors) / sizeof(magicard_errors[0]); i++)
        if (magicard_errors[i].code == code)
            return &magicard_errors[i];
    return &magicard_error_unknown;
}

int magicard_parse_reply(const uint8_t *buf, size_t len, struct printer_reply *ret)
{
    struct printer_reply r = {0};
    size_t end;
    int err;

    if (!buf || !ret)
        return PRINTER_ERROR_INVALID;
    /* 0x01, text, then 0x2C 0x03 (selphy_print), 0x1C 0x03, or a bare 0x03 */
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

/* Copies field f (len bytes) as a string into out (size bytes), cut to fit. */
static void field_copy(const char *f, size_t len, char *out, size_t size)
{
    if (len >= size)
        len = size - 1;
    memcpy(out, f, len);
    out[len] = '\0';
}

int magicard_parse_inf(const char *text, struct magicard_info *ret)
{
    struct magicard_info in = {.model_number = -1,
                               .head_type = -1,
                               .cards_printed = -1,
                               .cleans = -1,
                               .cards_since_clean = -1,
                               .cards_between_clean = -1,
                               .head_position = -1,
                               .major = -1,
                               .minor = -1,
                               .film_shots = -1,
                               .film_used = -1};
    long *const numbers[] = {[0] = &in.model_number,
                             [2] = &in.head_type,
                             [9] = &in.cards_printed,
                             [12] = &in.cleans,
                             [14] = &in.cards_since_clean,
                             [15] = &in.cards_between_clean,
                             [16] = &in.head_position,
                             [19] = &in.major,
                             [20] = &in.minor,
                             [22] = &in.film_shots,
                             [23] = &in.film_used};
    const char *f;
    unsigned idx = 0;

    if (!text || !ret)
        return PRINTER_ERROR_INVALID;
    if (strncmp(text, "STA$$", 5) != 0)
        return PRINTER_ERROR_PROTOCOL;
    f = text + 5;
    for (;;) {
        size_t len = strcspn(f, ",:");

        if (idx < sizeof(numbers) / sizeof(numbers[0]) && numbers[idx]) {
            /* a number field that is not a number is left unknown; the status fields must be numbers */
            if (parse_decimal(f, len, numbers[idx]) < 0 && (idx == 19 || idx == 20 || idx == 9))
                return PRINTER_ERROR_PROTOCOL;
        } else if (idx == 1) {
            field_copy(f, len, in.model, sizeof(in.model));
        } else if (idx == 3) {
            field_copy(f, len, in.serial, sizeof(in.serial));
        } else if (idx == 6) {
            field_copy(f, len, in.firmware, sizeof(in.firmware));
        }
        idx++;
        if (!f[len])
            break;
        f += len + 1;
    }
    if (idx < 21)
        return PRINTER_ERROR_PROTOCOL;
    *ret = in;
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
