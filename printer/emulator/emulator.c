/* emulator.c — strict emulated Evolis (A5013 Rev E) and Magicard (UltraDriver, selphy_print) printers: their
 * own parsers, constants and panel decoding, written from the vendor sources and not from printer/'s drivers
 */
#include "emulator.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the emulator's own constants (from the vendor sources, not from printer/) -------------------------- */

#define EM_FEEDER       100
#define EM_RIBBON       200
#define EM_CMD_MAX      1024 /* a Magicard job header is ~200 characters, ~450 with three tracks */
#define EM_ANSWERS      16
#define EM_ANSWER_MAX   512
#define EM_RECEIVED_MAX (16u * 1024 * 1024)
#define EM_REFUSAL_MAX  160

/* Evolis Rev E p. 14 with Printer-EVOLIS evolis-driver.pl: a panel is 1016 lines of 648 dots */
#define EV_LINES 1016u
#define EV_DOTS  648u
/* the card face the decoding writes: landscape 1016 x 648 */
#define FACE_W 1016u
#define FACE_H 648u

/* Magicard (rastertoultra.c 6152-6167): 672 head dots, a 642-dot image, head position 35..65 (default 50) */
#define MC_LINES       1016u
#define MC_IMAGE       642u
#define MC_HEAD_DOTS   672u
#define MC_POS_DEFAULT 50u
#define MC_POS_MIN     35u
#define MC_POS_MAX     65u
#define MC_KEE_ROW     84u /* 21 words */
#define MC_KGE_ROW     96u /* 24 words */
#define MC_PLANES      6u
#define MC_JOB_GUARDS  64u /* magigen.h NUMBER_05S */
/* the face row of image pixel p: the 642 rows in the middle of the 648 */
#define MC_FACE_ROW(p) (644u - (p))

/* Magicard error codes (UltraDriver error_codes.h) the emulator raises */
#define MC_ERR_HOPPER_EMPTY 1025
#define MC_ERR_CARD_JAM     1026
#define MC_ERR_JOB_OPTION   1028
#define MC_ERR_COVER        1038
#define MC_ERR_DYE_EXPIRED  1042
#define MC_ERR_CLEANING     2048
#define MC_ERR_MAG_VERIFY   1037 /* "mag verify failed" */

/* ISO 7811-2 / 7813, the emulator's own copy: track data without sentinels and LRC is at most 76, 37, 104
 * characters; track 1 takes the 6-bit set 0x20..0x5F, tracks 2 and 3 the 4-bit set 0x30..0x3F; '%' and ';'
 * start a track, '?' ends every one (magencd.h ISO_STARTSENTINEL_TRACKn, ISO_ENDSENTINEL). */
static const unsigned em_track_max[3] = {76, 37, 104};

static bool em_track_char(unsigned t, unsigned char c)
{
    if (t == 0)
        return c >= 0x20 && c <= 0x5f && c != '%' && c != '?';
    return c >= 0x30 && c <= 0x3f && c != ';' && c != '?';
}

/* Why data cannot be track t's (0-based), NULL if it can. */
static const char *em_track_bad(unsigned t, const char *data, size_t len)
{
    if (len == 0)
        return "empty track";
    if (len > em_track_max[t])
        return "track data too long for ISO 7811";
    for (size_t i = 0; i < len; i++)
        if (!em_track_char(t, (unsigned char)data[i]))
            return t == 0 ? "character outside track 1's 6-bit set" : "character outside the 4-bit set";
    return NULL;
}

/* Writes the loaded tracks on the card's stripe under the fault switches; false if the write failed. */
static bool em_stripe_write(struct printer_emulator_state *st,
                            const char (*loaded)[PRINTER_EMULATOR_TRACK_MAX + 1])
{
    if (st->mag_fail_next) {
        st->mag_fail_next = false;
        return false;
    }
    for (unsigned t = 0; t < 3; t++)
        if (loaded[t][0])
            snprintf(st->stripe[t], sizeof(st->stripe[t]), "%s", loaded[t]);
    if (st->mag_corrupt_next) {
        st->mag_corrupt_next = false;
        for (unsigned t = 0; t < 3; t++)
            if (st->stripe[t][0]) {
                /* a flipped bit: still a character of the set on track 1 ('0'..'9' <-> '1'..) */
                st->stripe[t][0] = st->stripe[t][0] == '0' ? '1' : '0';
                break;
            }
    }
    st->stripes_written++;
    return true;
}

/* Captured panels: Evolis y m c k o (7 bits: 576 072 bytes) or Magicard B G R K (KGE: 585 216 bytes). */
#define EM_CAPTURE_PANELS 5
#define EM_CAPTURE_SIZE   (600u * 1024)
#define EM_FACE_SIZE      ((size_t)FACE_W * FACE_H * 3)

enum em_parse {
    EM_IDLE,      /* Evolis: waiting for ESC; Magicard: for the guards or SOH */
    EM_EV_CMD,    /* Evolis command text, up to CR */
    EM_EV_DATA,   /* Evolis Db payload (counted: it may contain CR) */
    EM_EV_END,    /* the CR after a payload */
    EM_MC_GUARDS, /* Magicard 0x05 run */
    EM_MC_TEXT,   /* Magicard command text, up to 0x1C */
    EM_MC_ETX,    /* the 0x03 after a command */
    EM_MC_HEADER, /* job header, up to 0x1C */
    EM_MC_DATA,   /* a plane's bytes */
    EM_MC_TERM,   /* the 0x1C <letter> ':' after a plane */
    EM_MC_END,    /* the 0x03 after the last plane */
    EM_SKIP,      /* a refused job: drop bytes until the next frame */
};

/* Evolis sequence (Rev E §21): Ss, Sr, Db per ribbon panel, Se. */
enum ev_seq {
    EV_SEQ_NONE,
    EV_SEQ_BEGUN, /* after Ss: only Sr (or Sv) may follow */
    EV_SEQ_SIDE,  /* after Sr: downloads, then Se */
};

struct printer_emulator {
    pthread_mutex_t lock;
    enum printer_emulator_kind kind;
    char model[32];
    char serial[64];
    char device_id[256];
    struct printer_emulator_state st;
    enum printer_emulator_fault fault;
    size_t fault_after;
    bool unplugged;
    char refusal[EM_REFUSAL_MAX];

    enum em_parse parse;
    char cmd[EM_CMD_MAX];
    size_t cmd_len;
    bool cmd_overflow;
    size_t data_left, data_total;
    unsigned guards;

    /* Evolis */
    char ribbon_type[16]; /* from Pr; "" before */
    enum ev_seq seq;
    unsigned ev_panels;                             /* panels downloaded in this sequence */
    unsigned ev_panel;                              /* index in "ymcko" of the panel being received */
    unsigned ev_bits[5];                            /* bits per dot of each panel as announced */
    char ev_last[64];                               /* the last answer, for Rlr;r */
    bool ev_ribbon_taken;                           /* this sequence has used a panel set */
    bool ev_discard;                                /* the payload being read belongs to a refused download */
    unsigned ev_inserted;                           /* cards taken from the feeder (Rco;c) */
    char ev_mag[3][PRINTER_EMULATOR_TRACK_MAX + 1]; /* tracks downloaded by Dm, written by Smw */
    unsigned ev_mag_format[3]; /* Pmt (p. 51): 1..3 ISO 1..3, 4..6 the custom formats; 0 = ISO n on track n */

    /* Magicard */
    bool mc_kge;                                    /* layout of the model: KGE or KEE */
    const char *mc_head;                            /* head identifier a job must carry */
    char mc_mag[3][PRINTER_EMULATOR_TRACK_MAX + 1]; /* the tracks of the job being received, no sentinels */
    bool mc_verify;                                 /* the job asked for MGVON */
    unsigned mc_major, mc_minor;
    unsigned mc_printed; /* STA$$ field 9 */
    unsigned mc_planes;  /* planes in the job (IMF) */
    char mc_letters[5];  /* their letters in order */
    size_t mc_size[4];   /* and sizes */
    unsigned mc_plane;   /* plane being received */
    unsigned mc_term;    /* bytes of its terminator seen */

    char answers[EM_ANSWERS][EM_ANSWER_MAX];
    size_t answer_len[EM_ANSWERS];
    unsigned answer_head, answer_count;

    bool keep;
    uint8_t *received;
    size_t received_len, received_cap;

    uint8_t *capture[EM_CAPTURE_PANELS];
    uint8_t *face;
};

/* --- life cycle and state --------------------------------------------------------------------------------
 */

struct printer_emulator *printer_emulator_new_model(enum printer_emulator_kind kind, const char *model,
                                                    const char *serial)
{
    struct printer_emulator *p;
    bool kge = true;

    if (kind == PRINTER_EMULATOR_EVOLIS) {
        if (model && strcmp(model, "Primacy") != 0)
            return NULL;
        model = "Primacy";
    } else if (kind == PRINTER_EMULATOR_MAGICARD) {
        if (!model)
            model = "Rio Pro";
        if (strcmp(model, "Rio Pro XXL") == 0)
            kge = false;
        else if (strcmp(model, "Rio Pro") != 0)
            return NULL;
    } else {
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->kind = kind;
    snprintf(p->model, sizeof(p->model), "%s", model);
    snprintf(p->serial, sizeof(p->serial), "%s", serial ? serial : "EMU0001");
    if (kind == PRINTER_EMULATOR_EVOLIS)
        snprintf(p->device_id, sizeof(p->device_id),
                 "MFG:Evolis;CMD:ESC;MDL:Primacy;CLS:PRINTER;DES:Evolis Primacy;SN:%s;", p->serial);
    else
        snprintf(p->device_id, sizeof(p->device_id),
                 "MANUFACTURER:Magicard;COMMAND SET:MCL;MODEL:%s;CLASS:PRINTER;SERIALNUMBER:%s;", model,
                 p->serial);
    /* rastertoultra.c: the Rio Pro is in the Enduro family, head type 0 = KGE2; XXL is RIO_OEM = KEE */
    p->mc_kge = kge;
    p->mc_head = kge ? "KGE2" : "KEE";
    p->st.feeder = EM_FEEDER;
    p->st.ribbon = EM_RIBBON;
    p->keep = true;
    return p;
}

struct printer_emulator *printer_emulator_new(enum printer_emulator_kind kind, const char *serial)
{
    return printer_emulator_new_model(kind, NULL, serial);
}

void printer_emulator_free(struct printer_emulator *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->received);
    for (size_t i = 0; i < EM_CAPTURE_PANELS; i++)
        free(p->capture[i]);
    free(p->face);
    free(p);
}

void printer_emulator_get_state(struct printer_emulator *p, struct printer_emulator_state *ret)
{
    pthread_mutex_lock(&p->lock);
    *ret = p->st;
    pthread_mutex_unlock(&p->lock);
}

void printer_emulator_set_state(struct printer_emulator *p, const struct printer_emulator_state *state)
{
    pthread_mutex_lock(&p->lock);
    p->st = *state;
    /* an operator acted: the last fault is cleared */
    p->mc_major = p->mc_minor = 0;
    pthread_mutex_unlock(&p->lock);
}

void printer_emulator_set_fault(struct printer_emulator *p, enum printer_emulator_fault fault,
                                size_t after_bytes)
{
    pthread_mutex_lock(&p->lock);
    p->fault = fault;
    p->fault_after = after_bytes;
    pthread_mutex_unlock(&p->lock);
}

void printer_emulator_last_refusal(struct printer_emulator *p, char *out, size_t size)
{
    pthread_mutex_lock(&p->lock);
    snprintf(out, size, "%s", p->refusal);
    pthread_mutex_unlock(&p->lock);
}

bool printer_emulator_unplugged(struct printer_emulator *p)
{
    bool gone;

    pthread_mutex_lock(&p->lock);
    gone = p->unplugged;
    pthread_mutex_unlock(&p->lock);
    return gone;
}

const char *printer_emulator_device_id(const struct printer_emulator *p)
{
    return p->device_id;
}

uint16_t printer_emulator_vendor(const struct printer_emulator *p)
{
    return p->kind == PRINTER_EMULATOR_EVOLIS ? PRINTER_EMULATOR_EVOLIS_VENDOR
                                              : PRINTER_EMULATOR_MAGICARD_VENDOR;
}

uint16_t printer_emulator_product(const struct printer_emulator *p)
{
    return p->kind == PRINTER_EMULATOR_EVOLIS ? PRINTER_EMULATOR_EVOLIS_PRODUCT
                                              : PRINTER_EMULATOR_MAGICARD_PRODUCT;
}

const char *printer_emulator_serial(const struct printer_emulator *p)
{
    return p->serial;
}

const char *printer_emulator_product_name(const struct printer_emulator *p)
{
    return p->kind == PRINTER_EMULATOR_EVOLIS ? "Evolis Primacy"
           : p->mc_kge                        ? "Magicard Rio Pro"
                                              : "Magicard Rio Pro XXL";
}

const char *printer_emulator_manufacturer(const struct printer_emulator *p)
{
    return p->kind == PRINTER_EMULATOR_EVOLIS ? "Evolis" : "Magicard";
}

uint8_t *printer_emulator_take_received(struct printer_emulator *p, size_t *ret_len)
{
    uint8_t *r;

    pthread_mutex_lock(&p->lock);
    r = p->received;
    *ret_len = p->received_len;
    p->received = NULL;
    p->received_len = p->received_cap = 0;
    pthread_mutex_unlock(&p->lock);
    return r;
}

void printer_emulator_keep_received(struct printer_emulator *p, bool keep)
{
    pthread_mutex_lock(&p->lock);
    p->keep = keep;
    if (!keep) {
        free(p->received);
        p->received = NULL;
        p->received_len = p->received_cap = 0;
    }
    pthread_mutex_unlock(&p->lock);
}

int printer_emulator_capture_faces(struct printer_emulator *p, bool on)
{
    int r = 0;

    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; on && i < EM_CAPTURE_PANELS; i++) {
        if (!p->capture[i])
            p->capture[i] = calloc(1, EM_CAPTURE_SIZE);
        if (!p->capture[i])
            r = -ENOMEM;
    }
    if (!on || r < 0) {
        for (size_t i = 0; i < EM_CAPTURE_PANELS; i++) {
            free(p->capture[i]);
            p->capture[i] = NULL;
        }
        free(p->face);
        p->face = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

uint8_t *printer_emulator_take_face(struct printer_emulator *p)
{
    uint8_t *face;

    pthread_mutex_lock(&p->lock);
    face = p->face;
    p->face = NULL;
    pthread_mutex_unlock(&p->lock);
    return face;
}

/* --- answers and refusals --------------------------------------------------------------------------------
 */

static void answer(struct printer_emulator *p, const void *data, size_t len)
{
    unsigned slot;

    if (p->fault == PRINTER_EMULATOR_FAULT_MUTE || p->answer_count == EM_ANSWERS)
        return;
    if (len > EM_ANSWER_MAX)
        len = EM_ANSWER_MAX;
    slot = (p->answer_head + p->answer_count) % EM_ANSWERS;
    memcpy(p->answers[slot], data, len);
    p->answer_len[slot] = len;
    p->answer_count++;
}

/* An Evolis answer: text (Parallel.pm reads a reply up to a NUL; we send the text alone, one transfer). */
static void ev_answer(struct printer_emulator *p, const char *text)
{
    snprintf(p->ev_last, sizeof(p->ev_last), "%s", text);
    answer(p, text, strlen(text));
}

static void refuse(struct printer_emulator *p, const char *why)
{
    p->st.refused++;
    snprintf(p->refusal, sizeof(p->refusal), "%s", why);
}

/* --- reading back what was printed (the emulator's own decoding) ---------------------------------------- */

/* Sample i of an Evolis panel packed MSB first without padding at bits per dot (Rev E p. 14). */
static unsigned ev_sample(const uint8_t *buf, size_t i, unsigned bits)
{
    size_t off = i * bits, byte = off / 8;
    unsigned hi = buf[byte], lo = byte + 1 < EM_CAPTURE_SIZE ? buf[byte + 1] : 0;

    return ((hi << 8 | lo) >> (16 - bits - off % 8)) & ((1u << bits) - 1);
}

static unsigned to8(unsigned v, unsigned bits)
{
    return (v << (8 - bits) | v >> (2 * bits - 8)) & 0xff;
}

static void put_px(uint8_t *face, unsigned x, unsigned y, bool k, unsigned ye, unsigned ma, unsigned cy)
{
    uint8_t *px = face + ((size_t)y * FACE_W + x) * 3;

    px[0] = (uint8_t)(k ? 0 : 255 - cy);
    px[1] = (uint8_t)(k ? 0 : 255 - ma);
    px[2] = (uint8_t)(k ? 0 : 255 - ye);
}

static void ev_decode(const struct printer_emulator *p, uint8_t *face)
{
    for (unsigned l = 0; l < EV_LINES; l++)
        for (unsigned d = 0; d < EV_DOTS; d++) {
            size_t i = (size_t)l * EV_DOTS + d;

            /* evolis-driver.pl: line = face column, dot 0 = the bottom row */
            put_px(face, l, EV_DOTS - 1 - d, ev_sample(p->capture[3], i, 1) != 0,
                   to8(ev_sample(p->capture[0], i, p->ev_bits[0]), p->ev_bits[0]),
                   to8(ev_sample(p->capture[1], i, p->ev_bits[1]), p->ev_bits[1]),
                   to8(ev_sample(p->capture[2], i, p->ev_bits[2]), p->ev_bits[2]));
        }
}

static unsigned mc_margin(const struct printer_emulator *p)
{
    unsigned pos = p->st.head_position ? p->st.head_position : MC_POS_DEFAULT;

    pos = pos < MC_POS_MIN ? MC_POS_MIN : pos > MC_POS_MAX ? MC_POS_MAX : pos;
    return MC_POS_MAX - pos;
}

/* Byte and mask of image pixel px in a plane row (rastertoultra.c 6209-6365 KEE, 6372-6650 KGE). */
static bool mc_dot(const struct printer_emulator *p, unsigned px, size_t *ret_byte, uint8_t *ret_mask)
{
    unsigned m = mc_margin(p);

    if (p->mc_kge) {
        unsigned a = m + px, w, b;

        w = a < 288 ? 6 + a / 16 : (a - 288) / 16;
        b = a < 288 ? 2 * (a % 16) : 2 * ((a - 288) % 16) + 1;
        /* the Enduro family bit-reverses each byte of the 32-bit words */
        *ret_byte = 4 * w + b / 8;
        *ret_mask = (uint8_t)(0x80u >> (b % 8));
        return true;
    }
    if (m + 1 + px >= MC_HEAD_DOTS)
        return false;
    *ret_byte = (m + 1 + px) / 8;
    *ret_mask = (uint8_t)(0x80u >> ((m + 1 + px) % 8));
    return true;
}

static void mc_decode(const struct printer_emulator *p, uint8_t *face)
{
    const size_t row = p->mc_kge ? MC_KGE_ROW : MC_KEE_ROW;
    int slot[4] = {-1, -1, -1, -1}; /* B G R K -> capture index */

    memset(face, 255, EM_FACE_SIZE);
    for (unsigned i = 0; i < p->mc_planes; i++)
        slot[strchr("BGRK", p->mc_letters[i]) - "BGRK"] = (int)i;
    for (unsigned l = 0; l < MC_LINES; l++)
        for (unsigned px = 0; px < MC_IMAGE; px++) {
            unsigned lv[3] = {0, 0, 0};
            bool k = false;
            size_t byte;
            uint8_t mask;

            if (!mc_dot(p, px, &byte, &mask))
                continue;
            for (unsigned c = 0; c < 3; c++) {
                const uint8_t *plane =
                    slot[c] >= 0 ? p->capture[slot[c]] + (size_t)l * row * MC_PLANES : NULL;
                unsigned v = 0;

                for (unsigned b = 0; plane && b < MC_PLANES; b++)
                    if (plane[b * row + byte] & mask)
                        v |= 1u << b;
                lv[c] = to8(v, MC_PLANES);
            }
            if (slot[3] >= 0)
                k = (p->capture[slot[3]][(size_t)l * row + byte] & mask) != 0;
            put_px(face, l, MC_FACE_ROW(px), k, lv[0], lv[1], lv[2]);
        }
}

/* A successful print: decode what was received into the face, when capture is on. */
static void printed_face(struct printer_emulator *p)
{
    if (!p->capture[0])
        return;
    if (!p->face)
        p->face = malloc(EM_FACE_SIZE);
    if (!p->face)
        return;
    if (p->kind == PRINTER_EMULATOR_EVOLIS)
        ev_decode(p, p->face);
    else
        mc_decode(p, p->face);
}

static void capture_byte(struct printer_emulator *p, unsigned panel, uint8_t c)
{
    size_t at = p->data_total - p->data_left;

    if (p->capture[0] && panel < EM_CAPTURE_PANELS && at < EM_CAPTURE_SIZE)
        p->capture[panel][at] = c;
}

/* --- Evolis (A5013 Rev E) --------------------------------------------------------------------------------
 */

/* Texts for failures: the guide documents none in the standard protocol, so these are the emulator's own; the
 * driver may only quote them. */
#define EV_FAIL_COMMAND "ERR CDE"
#define EV_FAIL_COVER   "ERR COVER"
#define EV_FAIL_JAM     "ERR MECHANICAL"
#define EV_FAIL_FEEDER  "ERR FEEDER"
#define EV_FAIL_RIBBON  "ERR RIBBON"
#define EV_FAIL_REJECT  "ERR REJECT BOX"
/* Magnetic failures: Rev E names the condition ERR_MAGN (Pem bit 5, p. 20) and, in the ACK/NACK protocol
 * only, the codes D (magnetic data error) and W (writing magnetic data error) (p. 7); no text for the
 * standard protocol is documented, so these too are the emulator's own. */
#define EV_FAIL_MAG_DATA  "ERR_MAGN DATA"
#define EV_FAIL_MAG_WRITE "ERR_MAGN WRITE"
#define EV_FAIL_MAG_READ  "ERR_MAGN READ"

static void ev_refuse(struct printer_emulator *p, const char *why)
{
    refuse(p, why);
    p->seq = EV_SEQ_NONE; /* a refused command ends the sequence */
    ev_answer(p, EV_FAIL_COMMAND);
}

static const char *ev_blocked(const struct printer_emulator *p)
{
    if (p->st.cover_open)
        return EV_FAIL_COVER;
    if (p->st.jammed)
        return EV_FAIL_JAM;
    return NULL;
}

/* The panels a ribbon (Rev E p. 25) prints, in order. */
static const char *ev_ribbon_panels(const char *type)
{
    if (!strcmp(type, "ymcko"))
        return "ymcko";
    if (!strcmp(type, "k"))
        return "k";
    return NULL;
}

/* Takes a blank from the feeder (Si, Sis, or Ss with no card inside). */
static const char *ev_take_card(struct printer_emulator *p, enum printer_emulator_position where)
{
    if (p->st.position != PRINTER_EMULATOR_CARD_NONE)
        return EV_FAIL_COMMAND;
    if (!p->st.feeder)
        return EV_FAIL_FEEDER;
    p->st.feeder--;
    p->ev_inserted++;
    p->st.position = where;
    memset(p->st.stripe, 0, sizeof(p->st.stripe)); /* a blank card */
    return NULL;
}

static void ev_counter(struct printer_emulator *p, unsigned v)
{
    char text[16];

    snprintf(text, sizeof(text), "%u", v);
    ev_answer(p, text);
}

/* Db;<panel>;<code>; — the header of a download (Rev E p. 14). Returns the payload size, 0 when even that is
 * unreadable; *ret_ok false when the download is refused (its payload is then read and dropped). */
static size_t ev_download_header(struct printer_emulator *p, bool *ret_ok)
{
    static const char order[] = "ymcko";
    const char *panels = ev_ribbon_panels(p->ribbon_type);
    unsigned code = 0, bits;
    char panel = 0, tail = 0;
    size_t size;

    *ret_ok = false;
    if (sscanf(p->cmd, "Db;%c;%u%c", &panel, &code, &tail) != 3 || tail != ';' || !strchr(order, panel) ||
        !panel) {
        ev_refuse(p, "Db: bad parameters");
        return 0;
    }
    bits = code == 2 ? 1 : code == 32 ? 5 : code == 64 ? 6 : code == 128 ? 7 : 0;
    if (!bits) {
        ev_refuse(p, "Db: unknown resolution");
        return 0;
    }
    size = (size_t)EV_LINES * EV_DOTS * bits / 8;
    if (p->seq != EV_SEQ_SIDE) {
        ev_refuse(p, p->seq == EV_SEQ_BEGUN ? "Db before Sr: the side must be set first (Rev E p. 43)"
                                            : "Db outside an Ss...Se sequence");
        return size;
    }
    if (!panels || p->ev_panels >= strlen(panels) || panels[p->ev_panels] != panel) {
        ev_refuse(p, "Db: panel out of the ribbon's order");
        return size;
    }
    if ((panel == 'k' || panel == 'o') != (bits == 1)) {
        ev_refuse(p, "Db: resolution not allowed for this panel");
        return size;
    }
    p->ev_panel = (unsigned)(strchr(order, panel) - order);
    p->ev_bits[p->ev_panel] = bits;
    *ret_ok = true;
    return size;
}

static const char *ev_print_start(struct printer_emulator *p);

static void ev_command(struct printer_emulator *p, const char *cmd)
{
    struct printer_emulator_state *st = &p->st;
    const char *blocked = ev_blocked(p), *fail;

    if (!strcmp(cmd, "Pem;2")) {
        ev_answer(p, "OK");
    } else if (!strncmp(cmd, "Pr;", 3)) {
        if (p->seq != EV_SEQ_NONE || !ev_ribbon_panels(cmd + 3)) {
            ev_refuse(p, "Pr: unknown ribbon or inside a sequence");
            return;
        }
        snprintf(p->ribbon_type, sizeof(p->ribbon_type), "%s", cmd + 3);
        ev_answer(p, "OK");
    } else if (!strcmp(cmd, "Rlr;p")) {
        /* p. 34: NO CARD, or ERR CARD when a card is inside */
        ev_answer(p, st->position == PRINTER_EMULATOR_CARD_NONE ? "NO CARD" : "ERR CARD");
    } else if (!strcmp(cmd, "Rlr;r")) {
        char last[64];

        snprintf(last, sizeof(last), "%s", p->ev_last);
        ev_answer(p, st->cleaning_due ? "ERR NEED CLEANING" : last[0] ? last : "OK");
    } else if (!strcmp(cmd, "Rcr")) {
        ev_answer(p, st->ribbon ? "OK" : EV_FAIL_RIBBON); /* p. 32: OK unless on the end mark */
    } else if (!strcmp(cmd, "Rco;l")) {
        ev_counter(p, st->ribbon);
    } else if (!strcmp(cmd, "Rco;c") || !strcmp(cmd, "Rco;p")) {
        ev_counter(p, cmd[4] == 'c' ? p->ev_inserted : st->printed * 5); /* p. 31: cards inserted, panels */
    } else if (!strcmp(cmd, "Si") || !strcmp(cmd, "Sis")) {
        if (p->seq != EV_SEQ_NONE) {
            ev_refuse(p, "Si/Sis inside a sequence");
            return;
        }
        fail = blocked ? blocked
                       : ev_take_card(p, cmd[2] == 's' ? PRINTER_EMULATOR_CARD_CONTACT
                                                       : PRINTER_EMULATOR_CARD_PRINT);
        ev_answer(p, fail ? fail : "OK");
    } else if (!strcmp(cmd, "Ss")) {
        if (p->seq != EV_SEQ_NONE || !ev_ribbon_panels(p->ribbon_type)) {
            ev_refuse(p, p->seq != EV_SEQ_NONE ? "Ss inside a sequence" : "Ss before Pr");
            return;
        }
        p->seq = EV_SEQ_BEGUN;
        p->ev_panels = 0;
        p->ev_ribbon_taken = false;
        ev_answer(p, "OK");
    } else if (!strcmp(cmd, "Sr")) {
        if (p->seq != EV_SEQ_BEGUN) {
            ev_refuse(p, "Sr must come right after Ss, before the downloads (Rev E §21)");
            return;
        }
        p->seq = EV_SEQ_SIDE;
        ev_answer(p, "OK");
    } else if (!strcmp(cmd, "Se")) {
        if (p->seq == EV_SEQ_BEGUN || (p->seq == EV_SEQ_SIDE && p->ev_panels != strlen(p->ribbon_type))) {
            ev_refuse(p, "Se before every panel of the ribbon was downloaded");
            return;
        }
        if (blocked) {
            p->seq = EV_SEQ_NONE;
            ev_answer(p, blocked);
            return;
        }
        if (p->seq == EV_SEQ_SIDE) {
            /* the last panel is printed, then the card ejected; a one-panel ribbon prints only now */
            fail = p->ev_ribbon_taken ? NULL : ev_print_start(p);
            p->seq = EV_SEQ_NONE;
            if (fail) {
                ev_answer(p, fail);
                return;
            }
            if (st->jam_next_print) {
                st->jam_next_print = false;
                st->jammed = true;
                ev_answer(p, EV_FAIL_JAM);
                return;
            }
            st->printed++;
            printed_face(p);
        } else if (st->position == PRINTER_EMULATOR_CARD_NONE) {
            ev_answer(p, EV_FAIL_COMMAND);
            return;
        }
        st->position = PRINTER_EMULATOR_CARD_NONE;
        st->ejected++;
        ev_answer(p, "OK");
    } else if (!strcmp(cmd, "Pmc;h") || !strcmp(cmd, "Pmc;l")) {
        ev_answer(p, "OK"); /* p. 50: high or low coercivity */
    } else if (!strncmp(cmd, "Pmt;", 4)) {
        /* p. 51: Pmt;<1|2|3>;<1|2|3|4|5|6|C1|C2|C4> */
        static const char *const formats[] = {"1", "2", "3", "4", "5", "6", "C1", "C2", "C4"};
        static const unsigned values[] = {1, 2, 3, 4, 5, 6, 4, 5, 6};
        unsigned f = 0;

        for (size_t i = 0; cmd[4] >= '1' && cmd[4] <= '3' && cmd[5] == ';' && i < 9; i++)
            if (!strcmp(cmd + 6, formats[i]))
                f = values[i];
        if (!f) {
            ev_refuse(p, "Pmt: track 1..3 and format 1..6, C1, C2 or C4");
            return;
        }
        p->ev_mag_format[cmd[4] - '1'] = f;
        ev_answer(p, "OK");
    } else if (!strncmp(cmd, "Dm;", 3)) {
        /* p. 49: Dm;<1|2|3>;<ASCII data> */
        const char *bad;

        if (cmd[3] < '1' || cmd[3] > '3' || cmd[4] != ';') {
            refuse(p, "Dm: track must be 1, 2 or 3");
            ev_answer(p, EV_FAIL_MAG_DATA);
            return;
        }
        {
            /* the data must fit the track's format: ISO 1 the 6-bit set, ISO 2 and 3 the 4-bit set (with
             * their lengths); a custom format is not checked */
            unsigned f =
                p->ev_mag_format[cmd[3] - '1'] ? p->ev_mag_format[cmd[3] - '1'] : (unsigned)(cmd[3] - '0');

            bad = f <= 3 ? em_track_bad(f - 1, cmd + 5, strlen(cmd + 5)) : NULL;
        }
        if (bad) {
            char why[EM_REFUSAL_MAX];

            snprintf(why, sizeof(why), "Dm;%c: %s", cmd[3], bad);
            refuse(p, why);
            ev_answer(p, EV_FAIL_MAG_DATA);
            return;
        }
        snprintf(p->ev_mag[cmd[3] - '1'], sizeof(p->ev_mag[0]), "%s", cmd + 5);
        ev_answer(p, "OK");
    } else if (!strcmp(cmd, "Smw")) {
        /* p. 55: writes the tracks the Dm commands downloaded, on the card inside */
        if (!p->ev_mag[0][0] && !p->ev_mag[1][0] && !p->ev_mag[2][0]) {
            ev_refuse(p, "Smw without a Dm before it");
            return;
        }
        if (blocked)
            ev_answer(p, blocked);
        else if (st->position == PRINTER_EMULATOR_CARD_NONE)
            ev_answer(p, EV_FAIL_COMMAND);
        else
            ev_answer(p, em_stripe_write(st, p->ev_mag) ? "OK" : EV_FAIL_MAG_WRITE);
        memset(p->ev_mag, 0, sizeof(p->ev_mag));
    } else if (!strncmp(cmd, "Smr;", 4)) {
        /* p. 55: reads one track; the reply's format is not documented: the data, as Dm took it */
        if (cmd[4] < '1' || cmd[4] > '3' || cmd[5]) {
            ev_refuse(p, "Smr: track must be 1, 2 or 3");
            return;
        }
        if (blocked)
            ev_answer(p, blocked);
        else if (st->position == PRINTER_EMULATOR_CARD_NONE)
            ev_answer(p, EV_FAIL_COMMAND);
        else if (!st->stripe[cmd[4] - '1'][0])
            ev_answer(p, EV_FAIL_MAG_READ);
        else {
            /* card data: not kept as the last answer that Rlr;r repeats */
            answer(p, st->stripe[cmd[4] - '1'], strlen(st->stripe[cmd[4] - '1']));
            snprintf(p->ev_last, sizeof(p->ev_last), "OK");
        }
    } else if (!strcmp(cmd, "Ser") || !strcmp(cmd, "Seb")) {
        if (p->seq != EV_SEQ_NONE) {
            ev_refuse(p, "Ser inside a sequence");
            return;
        }
        if (blocked)
            ev_answer(p, blocked);
        else if (st->position == PRINTER_EMULATOR_CARD_NONE)
            ev_answer(p, EV_FAIL_COMMAND);
        else if (st->reject_full)
            ev_answer(p, EV_FAIL_REJECT);
        else {
            st->position = PRINTER_EMULATOR_CARD_NONE;
            st->rejected++;
            ev_answer(p, "OK");
        }
    } else {
        /* Pneab, Pcrm, Pcem, Rse;f ... are not in Rev E */
        char why[EM_REFUSAL_MAX];

        snprintf(why, sizeof(why), "unknown command '%.60s'", cmd);
        ev_refuse(p, why);
    }
}

/* Printing starts: the card inside (or a blank from the feeder) goes under the head and a panel set of the
 * ribbon is used. */
static const char *ev_print_start(struct printer_emulator *p)
{
    struct printer_emulator_state *st = &p->st;
    const char *blocked = ev_blocked(p);

    if (blocked)
        return blocked;
    if (st->position == PRINTER_EMULATOR_CARD_NONE && ev_take_card(p, PRINTER_EMULATOR_CARD_PRINT))
        return EV_FAIL_FEEDER;
    if (!st->ribbon)
        return EV_FAIL_RIBBON;
    st->ribbon--;
    p->ev_ribbon_taken = true;
    st->position = PRINTER_EMULATOR_CARD_PRINT;
    return NULL;
}

/* The first Db of a sequence only downloads; from the second on each one prints the previous panel (§21). */
static const char *ev_download_done(struct printer_emulator *p)
{
    p->ev_panels++;
    if (p->ev_panels < 2 || p->ev_ribbon_taken)
        return ev_blocked(p);
    return ev_print_start(p);
}

static void ev_byte(struct printer_emulator *p, uint8_t c)
{
    switch (p->parse) {
    case EM_IDLE:
        if (c == 0x1b) {
            p->parse = EM_EV_CMD;
            p->cmd_len = 0;
            p->cmd_overflow = false;
        } else if (c != 0x00) {
            /* NUL padding (evolis-driver.pl, the Windows driver) is ignored; anything else is not a command
             */
            refuse(p, "byte outside a command");
        }
        break;
    case EM_EV_CMD:
        if (c == 0x0d) {
            p->cmd[p->cmd_len] = '\0';
            p->parse = EM_IDLE;
            if (p->cmd_overflow)
                ev_refuse(p, "command too long");
            else
                ev_command(p, p->cmd);
            break;
        }
        if (c == 0x1b) { /* a new command: the unfinished one is dropped */
            refuse(p, "command not ended by CR");
            p->cmd_len = 0;
            break;
        }
        if (p->cmd_len + 1 >= EM_CMD_MAX) {
            p->cmd_overflow = true;
            break;
        }
        p->cmd[p->cmd_len++] = (char)c;
        /* "Db;p;code;" announces a payload of a known size: CRs inside it are data */
        if (c == ';' && p->cmd_len >= 4 && !strncmp(p->cmd, "Db;", 3)) {
            unsigned semis = 0;

            for (size_t i = 0; i < p->cmd_len; i++)
                semis += p->cmd[i] == ';';
            if (semis == 3) {
                bool ok;
                size_t n;

                p->cmd[p->cmd_len] = '\0';
                n = ev_download_header(p, &ok);
                p->ev_discard = !ok;
                if (!n) {
                    p->parse = EM_SKIP;
                } else {
                    p->data_total = p->data_left = n;
                    p->parse = EM_EV_DATA;
                }
            }
        }
        break;
    case EM_EV_DATA:
        if (!p->ev_discard)
            capture_byte(p, p->ev_panel, c);
        if (--p->data_left == 0)
            p->parse = EM_EV_END;
        break;
    case EM_EV_END:
        p->parse = EM_IDLE;
        if (p->ev_discard) {
            /* refused when announced: already answered */
        } else if (c != 0x0d) {
            ev_refuse(p, "Db: payload longer than the panel (648 x 1016 dots)");
            p->parse = EM_SKIP;
        } else {
            const char *fail = ev_download_done(p);

            if (fail)
                p->seq = EV_SEQ_NONE;
            ev_answer(p, fail ? fail : "OK");
        }
        break;
    case EM_SKIP:
        /* after a refused download: wait for the next command */
        if (c == 0x1b) {
            p->parse = EM_EV_CMD;
            p->cmd_len = 0;
            p->cmd_overflow = false;
        }
        break;
    default:
        p->parse = EM_IDLE;
        break;
    }
}

/* --- Magicard (UltraDriver, selphy_print) ----------------------------------------------------------------
 */

static void mc_refuse(struct printer_emulator *p, const char *why)
{
    refuse(p, why);
    p->mc_major = MC_ERR_JOB_OPTION;
    p->parse = EM_SKIP;
    p->guards = 0;
}

static unsigned mc_blocked(const struct printer_emulator *p)
{
    if (p->st.cover_open)
        return MC_ERR_COVER;
    if (p->st.jammed)
        return MC_ERR_CARD_JAM;
    return 0;
}

/* STA$$: the positional reply ParseEnduroStatus reads (rastertoultra.c 8531-8733), fields 0..34. */
static void mc_status(struct printer_emulator *p)
{
    const struct printer_emulator_state *st = &p->st;
    char text[EM_ANSWER_MAX - 4];
    uint8_t frame[EM_ANSWER_MAX];
    unsigned major = p->mc_major ? p->mc_major : mc_blocked(p), minor = p->mc_minor        ? p->mc_minor
                                                                        : st->cleaning_due ? MC_ERR_CLEANING
                                                                                           : 0;
    int n;

    n = snprintf(
        text, sizeof(text),
        "STA$$%u,%s,%u,%s,PH%s,PCB%s,F1.0,3829,0,%u,%u,%u,0,%u,%u,%u,%u,0,0,%u,%u,,%u,%u,LC1,0,0,0,0,0,0,0,"
        "0,0,0",
        p->mc_kge ? 10u : 1u, p->model, 0u, p->serial, p->serial, p->serial, p->mc_printed, p->mc_printed,
        p->mc_printed * 4, p->mc_printed * 4, st->cleaning_due ? 1000u : p->mc_printed % 1000, 1000u,
        st->head_position ? st->head_position : MC_POS_DEFAULT, major, minor, p->mc_printed + st->ribbon,
        p->mc_printed);
    frame[0] = 0x01;
    memcpy(frame + 1, text, (size_t)n);
    frame[n + 1] = ',';
    frame[n + 2] = 0x03;
    answer(p, frame, (size_t)n + 3);
}

/* REQ,STA,<key>, answers one value (selphy_print's table). */
static void mc_single(struct printer_emulator *p, const char *key)
{
    char text[96], value[64];
    uint8_t frame[128];
    int n;

    if (!strcmp(key, "MSR"))
        snprintf(value, sizeof(value), "%s", p->serial);
    else if (!strcmp(key, "TCQ"))
        snprintf(value, sizeof(value), "%u", p->mc_printed);
    else if (!strcmp(key, "DFR"))
        snprintf(value, sizeof(value), "%u", p->st.ribbon * 4);
    else if (!strcmp(key, "FPP"))
        snprintf(value, sizeof(value), "%u", p->st.head_position ? p->st.head_position : MC_POS_DEFAULT);
    else if (!strcmp(key, "VRS"))
        snprintf(value, sizeof(value), "F1.0");
    else {
        refuse(p, "REQ,STA: unknown key");
        return;
    }
    n = snprintf(text, sizeof(text), "STA,%s,%s", key, value);
    frame[0] = 0x01;
    memcpy(frame + 1, text, (size_t)n);
    frame[n + 1] = ',';
    frame[n + 2] = 0x03;
    answer(p, frame, (size_t)n + 3);
}

static void mc_command(struct printer_emulator *p, const char *cmd)
{
    struct printer_emulator_state *st = &p->st;
    unsigned blocked = mc_blocked(p);

    if (cmd[0] == ',') /* UltraDriver writes "0x01,REQ,INF,"; selphy_print "0x01REQ,..." */
        cmd++;
    if (!strcmp(cmd, "REQ,INF,")) {
        mc_status(p);
        return;
    }
    if (!strncmp(cmd, "REQ,STA,", 8) && strlen(cmd) == 12 && cmd[11] == ',') {
        char key[4] = {cmd[8], cmd[9], cmd[10], 0};

        mc_single(p, key);
        return;
    }
    p->mc_major = p->mc_minor = 0;
    if (!strcmp(cmd, "RST,")) {
        st->jammed = false;
    } else if (!strcmp(cmd, "EJT,")) {
        if (blocked)
            p->mc_major = blocked;
        else if (st->position != PRINTER_EMULATOR_CARD_NONE) {
            st->position = PRINTER_EMULATOR_CARD_NONE;
            st->ejected++;
        }
    } else if (!strcmp(cmd, "CHPDOWN,")) {
        /* the card feeds into the smart card encoder (selphy_print's list: "CHP UP/DOWN") */
        if (blocked)
            p->mc_major = blocked;
        else if (st->position != PRINTER_EMULATOR_CARD_CONTACT) {
            if (st->position != PRINTER_EMULATOR_CARD_NONE)
                refuse(p, "CHP with a card elsewhere in the printer");
            else if (!st->feeder)
                p->mc_major = MC_ERR_HOPPER_EMPTY;
            else {
                st->feeder--;
                st->position = PRINTER_EMULATOR_CARD_CONTACT;
                memset(st->stripe, 0, sizeof(st->stripe)); /* a blank card */
            }
        }
    } else {
        char why[EM_REFUSAL_MAX];

        snprintf(why, sizeof(why), "unknown command '%.60s'", cmd);
        refuse(p, why);
        p->mc_major = MC_ERR_JOB_OPTION;
    }
}

/* The header of a job, in rastertoultra.c's order; fills the plane list. Returns NULL or why it is refused.
 */
static const char *mc_header(struct printer_emulator *p)
{
    const size_t row = p->mc_kge ? MC_KGE_ROW : MC_KEE_ROW;
    const char *h = p->cmd;
    char tok[EM_CMD_MAX];
    bool wid = false, hgt = false, head = false, imf = false;
    unsigned sz = 0, numbers = 0, mag_track = 0;

    p->mc_planes = 0;
    memset(p->mc_mag, 0, sizeof(p->mc_mag));
    p->mc_verify = false;
    if (h[0] != ',' || strncmp(h, ",NOC", 4) != 0)
        return "job header must start with ,NOC (rastertoultra.c 1972)";
    if (p->cmd_len && h[p->cmd_len - 1] == ',')
        return "comma right before 0x1C (command.h: the firmware faults)";
    h++;
    while (*h) {
        size_t len = strcspn(h, ",");

        if (len == 0)
            return "empty field in the job header";
        memcpy(tok, h, len);
        tok[len] = '\0';
        h += len + (h[len] == ',');
        if (numbers) { /* the three numbers after PCTx or NCTx */
            if (strspn(tok, "0123456789") != len)
                return "PCT/NCT needs four numbers";
            numbers--;
            continue;
        }
        if (mag_track) {
            /* rastertoultra.c 2160-2178: MAG<n>, [MPC<bits>,] [BPI<density>,] then the data, which magencd.c
             * has framed by the track's sentinels */
            const char start = mag_track == 1 ? '%' : ';';
            const char *bad;

            if (!strcmp(tok, "MPC1") || !strcmp(tok, "MPC5") || !strcmp(tok, "MPC7") ||
                !strcmp(tok, "BPI75") || !strcmp(tok, "BPI210"))
                continue;
            if (len < 2 || tok[0] != start || tok[len - 1] != '?')
                return "magnetic track data not framed by its sentinels";
            bad = em_track_bad(mag_track - 1, tok + 1, len - 2);
            if (bad)
                return bad;
            if (p->mc_mag[mag_track - 1][0])
                return "magnetic track given twice";
            memcpy(p->mc_mag[mag_track - 1], tok + 1, len - 2);
            p->mc_mag[mag_track - 1][len - 2] = '\0';
            mag_track = 0;
            continue;
        }
        if (sz && strncmp(tok, "SZ", 2) != 0)
            return "SZ fields must end the header";
        if (!strcmp(tok, "MGVON") || !strcmp(tok, "COEH") || !strcmp(tok, "COEL") ||
            (!strncmp(tok, "MAG", 3) && len == 4)) {
            /* the vendor writes the magnetic fields after TDT, before the print-head identifier */
            if (head)
                return "magnetic fields after the print-head identifier";
            if (!strcmp(tok, "MGVON"))
                p->mc_verify = true;
            else if (tok[0] == 'M' && tok[1] == 'A') {
                if (tok[3] < '1' || tok[3] > '3')
                    return "magnetic track must be 1, 2 or 3";
                mag_track = (unsigned)(tok[3] - '0');
            }
            continue;
        }
        if (!strcmp(tok, p->mc_head)) {
            head = true;
        } else if (!strncmp(tok, "KEE", 3) || !strncmp(tok, "KGE", 3)) {
            return "print-head identifier not this model's";
        } else if (!strncmp(tok, "WID", 3)) {
            if (strcmp(tok, "WID1016") != 0 || hgt)
                return "WID1016 must come before HGT642";
            wid = true;
        } else if (!strncmp(tok, "HGT", 3)) {
            if (strcmp(tok, "HGT642") != 0 || !wid)
                return "HGT642 must follow WID1016";
            hgt = true;
        } else if (!strncmp(tok, "IMF", 3)) {
            if (strcmp(tok + 3, "BGRK") && strcmp(tok + 3, "BGR") && strcmp(tok + 3, "K"))
                return "unknown IMF";
            imf = true;
            p->mc_planes = (unsigned)strlen(tok + 3);
            memcpy(p->mc_letters, tok + 3, p->mc_planes + 1);
        } else if (!strncmp(tok, "PCT", 3) || !strncmp(tok, "NCT", 3)) {
            if (strspn(tok + 3, "0123456789") != len - 3 || len == 3)
                return "PCT/NCT needs four numbers";
            numbers = 3;
        } else if (!strncmp(tok, "SZ", 2)) {
            size_t want;

            if (!p->mc_planes || sz >= p->mc_planes || tok[2] != p->mc_letters[sz])
                return "SZ fields not in the IMF order";
            want = (tok[2] == 'K' ? 1 : MC_PLANES) * row * MC_LINES;
            if (strtoul(tok + 3, NULL, 10) != want)
                return "plane size not this model's layout";
            p->mc_size[sz++] = want;
        } else if (!strcmp(tok, "RT2")) {
            if (p->mc_kge)
                return "RT2 is for the Rio (KEE) only";
        } else if (!strncmp(tok, "NOC", 3) || !strncmp(tok, "VER", 3) || !strcmp(tok, "LANENG") ||
                   !strncmp(tok, "TDT", 3) || !strcmp(tok, "SLWON") || !strcmp(tok, "DPXOFF") ||
                   !strcmp(tok, "PAG1") || !strcmp(tok, "XCO0") || !strcmp(tok, "YCO0") ||
                   !strcmp(tok, "OVRON") || !strcmp(tok, "NNNOFF") || !strcmp(tok, "USFOFF") ||
                   !strncmp(tok, "ICC", 3) || !strncmp(tok, "DDD", 3) || !strcmp(tok, "LC1")) {
            /* settings the vendor filter writes for these models */
        } else {
            return "unknown field in the job header";
        }
    }
    if (numbers)
        return "PCT/NCT needs four numbers";
    if (mag_track)
        return "magnetic track without data";
    if (!head)
        return "no print-head identifier";
    if (!hgt || !imf || sz != p->mc_planes)
        return "job header incomplete (WID/HGT, IMF, SZ)";
    return NULL;
}

/* A complete job: the card is taken (or the one at the chip station used), printed and ejected. */
static void mc_job(struct printer_emulator *p)
{
    struct printer_emulator_state *st = &p->st;
    unsigned blocked = mc_blocked(p);

    p->mc_major = p->mc_minor = 0;
    if (blocked) {
        p->mc_major = blocked;
        return;
    }
    if (st->position == PRINTER_EMULATOR_CARD_NONE) {
        if (!st->feeder) {
            p->mc_major = MC_ERR_HOPPER_EMPTY;
            return;
        }
        st->feeder--;
        memset(st->stripe, 0, sizeof(st->stripe)); /* a blank card */
    }
    st->position = PRINTER_EMULATOR_CARD_PRINT;
    if (p->mc_mag[0][0] || p->mc_mag[1][0] || p->mc_mag[2][0]) {
        /* the stripe is encoded before the print; with MGVON the printer reads it back and stops the job with
         * 1037 when it differs (error_codes.h "mag verify failed"); the spoiled card is ejected */
        bool wrote = em_stripe_write(st, p->mc_mag);
        bool same = wrote;

        for (unsigned t = 0; same && t < 3; t++)
            same = !p->mc_mag[t][0] || !strcmp(st->stripe[t], p->mc_mag[t]);
        if (!wrote || (p->mc_verify && !same)) {
            p->mc_major = MC_ERR_MAG_VERIFY;
            st->position = PRINTER_EMULATOR_CARD_NONE;
            st->ejected++;
            return;
        }
    }
    if (!st->ribbon) {
        p->mc_major = MC_ERR_DYE_EXPIRED;
        return;
    }
    st->ribbon--;
    if (st->jam_next_print) {
        st->jam_next_print = false;
        st->jammed = true;
        p->mc_major = MC_ERR_CARD_JAM;
        return;
    }
    st->printed++;
    p->mc_printed++;
    printed_face(p);
    st->position = PRINTER_EMULATOR_CARD_NONE;
    st->ejected++;
}

static void mc_byte(struct printer_emulator *p, uint8_t c)
{
    switch (p->parse) {
    case EM_SKIP:
        /* the rest of a refused job is binary: only a run of guards and SOH starts a frame again */
        if (c == 0x05) {
            p->guards++;
        } else if (c == 0x01 && p->guards >= 8) {
            p->cmd_len = 0;
            p->cmd_overflow = false;
            p->parse = p->guards >= MC_JOB_GUARDS ? EM_MC_HEADER : EM_MC_TEXT;
        } else {
            p->guards = 0;
        }
        break;
    case EM_IDLE:
        if (c == 0x05) {
            p->parse = EM_MC_GUARDS;
            p->guards = 1;
        } else if (c == 0x01) { /* UltraDriver's REQ,INF comes without guards */
            p->guards = 0;
            p->cmd_len = 0;
            p->cmd_overflow = false;
            p->parse = EM_MC_TEXT;
        } else if (p->parse == EM_IDLE) {
            refuse(p, "byte outside a frame");
        }
        break;
    case EM_MC_GUARDS:
        if (c == 0x05) {
            p->guards++;
        } else if (c == 0x01) {
            p->cmd_len = 0;
            p->cmd_overflow = false;
            p->parse = p->guards >= MC_JOB_GUARDS ? EM_MC_HEADER : EM_MC_TEXT;
        } else {
            refuse(p, "guards not followed by SOH");
            p->parse = EM_IDLE;
        }
        break;
    case EM_MC_TEXT:
    case EM_MC_HEADER:
        if (c == 0x1c) {
            p->cmd[p->cmd_len] = '\0';
            if (p->parse == EM_MC_TEXT) {
                p->parse = EM_MC_ETX;
            } else {
                const char *why = p->cmd_overflow ? "job header too long" : mc_header(p);

                if (why) {
                    mc_refuse(p, why);
                } else {
                    p->mc_plane = 0;
                    p->data_total = p->data_left = p->mc_size[0];
                    p->parse = EM_MC_DATA;
                }
            }
        } else if (p->cmd_len + 1 < EM_CMD_MAX) {
            p->cmd[p->cmd_len++] = (char)c;
        } else {
            p->cmd_overflow = true;
        }
        break;
    case EM_MC_ETX:
        p->parse = EM_IDLE;
        if (c != 0x03 || p->cmd_overflow) {
            refuse(p, "command not ended by 0x1C 0x03");
            p->mc_major = MC_ERR_JOB_OPTION;
        } else {
            mc_command(p, p->cmd);
        }
        break;
    case EM_MC_DATA:
        capture_byte(p, p->mc_plane, c);
        if (--p->data_left == 0) {
            p->mc_term = 0;
            p->parse = EM_MC_TERM;
        }
        break;
    case EM_MC_TERM: {
        /* command.h: each plane's data is followed by 0x1C <letter> ':' */
        const uint8_t want[3] = {0x1c, (uint8_t)p->mc_letters[p->mc_plane], ':'};

        if (c != want[p->mc_term]) {
            mc_refuse(p, "plane data not followed by its 0x1C <letter> ':' terminator");
            break;
        }
        if (++p->mc_term == 3) {
            if (++p->mc_plane == p->mc_planes) {
                p->parse = EM_MC_END;
            } else {
                p->data_total = p->data_left = p->mc_size[p->mc_plane];
                p->parse = EM_MC_DATA;
            }
        }
        break;
    }
    case EM_MC_END:
        if (c != 0x03) {
            mc_refuse(p, "job not ended by 0x03");
            break;
        }
        p->parse = EM_IDLE;
        mc_job(p);
        break;
    default:
        p->parse = EM_IDLE;
        break;
    }
}

/* --- transfers -------------------------------------------------------------------------------------------
 */

static void keep_received(struct printer_emulator *p, const uint8_t *data, size_t len)
{
    if (p->received_len + len > EM_RECEIVED_MAX)
        return;
    if (p->received_len + len > p->received_cap) {
        size_t cap = p->received_cap ? p->received_cap : 64 * 1024;
        uint8_t *n;

        while (cap < p->received_len + len)
            cap *= 2;
        n = realloc(p->received, cap);
        if (!n)
            return;
        p->received = n;
        p->received_cap = cap;
    }
    memcpy(p->received + p->received_len, data, len);
    p->received_len += len;
}

int printer_emulator_write(struct printer_emulator *p, const uint8_t *data, size_t len)
{
    bool gone;

    pthread_mutex_lock(&p->lock);
    if (p->unplugged) {
        pthread_mutex_unlock(&p->lock);
        return -ENODEV;
    }
    if (p->fault == PRINTER_EMULATOR_FAULT_STALL) {
        p->fault = PRINTER_EMULATOR_FAULT_NONE;
        pthread_mutex_unlock(&p->lock);
        return -EPIPE;
    }
    if (p->fault == PRINTER_EMULATOR_FAULT_UNPLUG) {
        if (len >= p->fault_after) {
            /* the cable comes out part-way through this transfer */
            len = p->fault_after;
            p->unplugged = true;
        } else {
            p->fault_after -= len;
        }
    }
    if (p->keep)
        keep_received(p, data, len);
    for (size_t i = 0; i < len; i++) {
        if (p->kind == PRINTER_EMULATOR_EVOLIS)
            ev_byte(p, data[i]);
        else
            mc_byte(p, data[i]);
    }
    gone = p->unplugged;
    pthread_mutex_unlock(&p->lock);
    return gone ? -ENODEV : 0;
}

int printer_emulator_read(struct printer_emulator *p, uint8_t *buf, size_t cap)
{
    size_t n;

    pthread_mutex_lock(&p->lock);
    if (p->unplugged) {
        pthread_mutex_unlock(&p->lock);
        return -ENODEV;
    }
    if (!p->answer_count) {
        pthread_mutex_unlock(&p->lock);
        return 0;
    }
    n = p->answer_len[p->answer_head];
    if (n > cap)
        n = cap;
    memcpy(buf, p->answers[p->answer_head], n);
    p->answer_head = (p->answer_head + 1) % EM_ANSWERS;
    p->answer_count--;
    pthread_mutex_unlock(&p->lock);
    return (int)n;
}
