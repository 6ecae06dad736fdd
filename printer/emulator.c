/* emulator.c — the emulated printer's protocol parsers and machine state (Evolis ESC…CR, Magicard 0x05/0x01
 * frames), and the decoding of the panels it printed back into a face */
#include "emulator.h"
#include "panel.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UP_FEEDER        100
#define UP_RIBBON        200
#define UP_CMD_MAX       128
#define UP_ANSWERS       16
#define UP_ANSWER_MAX    128
#define UP_RECEIVED_MAX  (16u * 1024 * 1024)
#define UP_PANEL_PIXELS  (1016u * 648u)
#define UP_MC_GUARDS_JOB 64
/* Captured panels: an Evolis dye panel at 7 bits is the largest (a Magicard dye panel is smaller). */
#define UP_CAPTURE_PANELS 5
#define UP_CAPTURE_SIZE   ((size_t)UP_PANEL_PIXELS * 7 / 8)
#define UP_FACE_SIZE      ((size_t)PRINTER_FACE_WIDTH * PRINTER_FACE_HEIGHT * 3)
/* The dots of a Magicard row that carry the print: the narrower print width is centred on the panel. */
#define UP_MC_FIRST_DOT ((PRINTER_PANEL_DOTS - PRINTER_MAGICARD_WIDTH) / 2)

enum up_parse {
    UP_IDLE,      /* waiting for ESC (Evolis) or the guards (Magicard) */
    UP_CMD,       /* command text */
    UP_DATA,      /* Evolis Db payload */
    UP_DATA_END,  /* the CR after the payload */
    UP_MC_GUARDS, /* Magicard 0x05 run */
    UP_MC_TEXT,   /* Magicard command text, up to 0x1C */
    UP_MC_ETX,    /* the 0x03 after a command */
    UP_MC_HEADER, /* job settings up to 0x1C */
    UP_MC_PLANE,  /* 0x1C + letter + ':' before a plane, or 0x03 at the end */
    UP_MC_DATA,   /* plane payload */
};

struct printer_emulator {
    pthread_mutex_t lock;
    enum printer_emulator_kind kind;
    char serial[64];
    char device_id[256];
    struct printer_emulator_state st;
    enum printer_emulator_fault fault;
    size_t fault_after;
    bool unplugged;

    enum up_parse parse;
    char cmd[UP_CMD_MAX];
    size_t cmd_len;
    bool cmd_overflow;
    size_t data_left;
    size_t data_total; /* size of the payload being received */
    unsigned guards;
    /* Evolis */
    bool in_sequence;
    unsigned panels;   /* bit per panel y m c k o received in this sequence */
    unsigned ev_panel; /* index in "ymcko" of the panel being received */
    /* Magicard */
    const char *mc_error; /* what the last command failed with, shown by the next status */
    size_t mc_sizes[4];   /* B G R K */
    unsigned mc_plane;    /* planes done */
    unsigned mc_plane_step;
    bool mc_job_bad;

    char answers[UP_ANSWERS][UP_ANSWER_MAX];
    size_t answer_len[UP_ANSWERS];
    unsigned answer_head, answer_count;

    bool keep; /* received bytes are kept */
    uint8_t *received;
    size_t received_len, received_cap;

    /* Evolis y m c k o, or Magicard B G R K, as last received (packed); NULL when capture is off */
    uint8_t *capture[UP_CAPTURE_PANELS];
    unsigned capture_bits[UP_CAPTURE_PANELS]; /* Evolis: bits per dot of each panel as last announced */
    uint8_t *face;                            /* decoded face of the last print, NULL when none */
};

struct printer_emulator *printer_emulator_new(enum printer_emulator_kind kind, const char *serial)
{
    struct printer_emulator *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->kind = kind;
    snprintf(p->serial, sizeof(p->serial), "%s", serial ? serial : "EMU0001");
    if (kind == PRINTER_EMULATOR_EVOLIS)
        snprintf(p->device_id, sizeof(p->device_id),
                 "MFG:Evolis;CMD:ESC;MDL:Primacy;CLS:PRINTER;DES:Evolis Primacy;SN:%s;", p->serial);
    else
        snprintf(p->device_id, sizeof(p->device_id),
                 "MANUFACTURER:Magicard;COMMAND SET:MCL;MODEL:Rio Pro;CLASS:PRINTER;SERIALNUMBER:%s;",
                 p->serial);
    p->st.feeder = UP_FEEDER;
    p->st.ribbon = UP_RIBBON;
    p->keep = true;
    return p;
}

void printer_emulator_free(struct printer_emulator *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->received);
    for (size_t i = 0; i < UP_CAPTURE_PANELS; i++)
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
    p->mc_error = NULL; /* an operator acted: the last command's fault is cleared */
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
    return p->kind == PRINTER_EMULATOR_EVOLIS ? "Evolis Primacy" : "Magicard Rio Pro";
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
    for (size_t i = 0; on && i < UP_CAPTURE_PANELS; i++) {
        if (!p->capture[i])
            p->capture[i] = calloc(1, UP_CAPTURE_SIZE);
        if (!p->capture[i])
            r = -ENOMEM;
    }
    if (!on || r < 0) {
        for (size_t i = 0; i < UP_CAPTURE_PANELS; i++) {
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

/* --- what was printed
 * ------------------------------------------------------------------------------------------ */

/* Sample i of a panel packed MSB first at bits (1..7) per dot. */
static unsigned unpack(const uint8_t *buf, size_t len, size_t i, unsigned bits)
{
    size_t off = i * bits, byte = off / 8;
    unsigned hi = buf[byte], lo = byte + 1 < len ? buf[byte + 1] : 0;

    return ((hi << 8 | lo) >> (16 - bits - off % 8)) & ((1u << bits) - 1);
}

/* A level of bits (5..7) to 8 bits, full scale to full scale. */
static unsigned expand(unsigned v, unsigned bits)
{
    return (v << (8 - bits) | v >> (2 * bits - 8)) & 0xff;
}

/* One dot of the card: resin black over everything, else what the dyes leave of white. */
static void put_dot(uint8_t *face, unsigned line, unsigned dot, bool k, unsigned y, unsigned m, unsigned c)
{
    unsigned x, row;
    uint8_t *px;

    printer_panel_source(line, dot, &x, &row);
    px = face + ((size_t)row * PRINTER_FACE_WIDTH + x) * 3;
    px[0] = (uint8_t)(k ? 0 : 255 - c);
    px[1] = (uint8_t)(k ? 0 : 255 - m);
    px[2] = (uint8_t)(k ? 0 : 255 - y);
}

static bool evolis_decode(const struct printer_emulator *p, uint8_t *face)
{
    const unsigned *bits = p->capture_bits; /* y m c k o */

    for (size_t i = 0; i < 3; i++)
        if (bits[i] < 5 || bits[i] > 7)
            return false;
    if (bits[3] != 1)
        return false;
    for (unsigned line = 0; line < PRINTER_PANEL_LINES; line++)
        for (unsigned dot = 0; dot < PRINTER_PANEL_DOTS; dot++) {
            size_t i = (size_t)line * PRINTER_PANEL_DOTS + dot;

            put_dot(face, line, dot, unpack(p->capture[3], UP_CAPTURE_SIZE, i, 1) != 0,
                    expand(unpack(p->capture[0], UP_CAPTURE_SIZE, i, bits[0]), bits[0]),
                    expand(unpack(p->capture[1], UP_CAPTURE_SIZE, i, bits[1]), bits[1]),
                    expand(unpack(p->capture[2], UP_CAPTURE_SIZE, i, bits[2]), bits[2]));
        }
    return true;
}

/* Bit-plane level of Magicard dot d in a dye row (PRINTER_MAGICARD_BITS planes, lowest bit first). */
static unsigned magicard_level(const uint8_t *row, unsigned d)
{
    unsigned v = 0;

    for (unsigned plane = 0; plane < PRINTER_MAGICARD_BITS; plane++)
        if (row[(size_t)plane * PRINTER_MAGICARD_ROW_BYTES + d / 8] & (0x80u >> (d % 8)))
            v |= 1u << plane;
    return expand(v, PRINTER_MAGICARD_BITS);
}

static bool magicard_decode(const struct printer_emulator *p, uint8_t *face)
{
    const size_t dye_row = (size_t)PRINTER_MAGICARD_ROW_BYTES * PRINTER_MAGICARD_BITS;

    for (size_t i = 0; i < 3; i++)
        if (p->mc_sizes[i] != PRINTER_MAGICARD_DYE_SIZE)
            return false;
    if (p->mc_sizes[3] != PRINTER_MAGICARD_K_SIZE)
        return false;
    for (unsigned line = 0; line < PRINTER_PANEL_LINES; line++) {
        const uint8_t *b = p->capture[0] + line * dye_row, *g = p->capture[1] + line * dye_row,
                      *r = p->capture[2] + line * dye_row,
                      *k = p->capture[3] + (size_t)line * PRINTER_MAGICARD_ROW_BYTES;

        for (unsigned dot = 0; dot < PRINTER_PANEL_DOTS; dot++) {
            unsigned d = dot - UP_MC_FIRST_DOT;

            /* outside the print width the card stays blank */
            if (dot < UP_MC_FIRST_DOT || d >= PRINTER_MAGICARD_WIDTH)
                put_dot(face, line, dot, false, 0, 0, 0);
            else
                put_dot(face, line, dot, (k[d / 8] & (0x80u >> (d % 8))) != 0, magicard_level(b, d),
                        magicard_level(g, d), magicard_level(r, d));
        }
    }
    return true;
}

/* A print succeeded: decode the panels it used into the face the card shows (capture on only). */
static void capture_face(struct printer_emulator *p)
{
    bool ok;

    if (!p->capture[0])
        return;
    if (!p->face)
        p->face = malloc(UP_FACE_SIZE);
    if (!p->face)
        return;
    ok = p->kind == PRINTER_EMULATOR_EVOLIS ? evolis_decode(p, p->face) : magicard_decode(p, p->face);
    if (!ok) {
        free(p->face);
        p->face = NULL;
    }
}

/* Keeps one payload byte of the panel being received (capture on only). */
static void capture_byte(struct printer_emulator *p, unsigned panel, uint8_t c)
{
    size_t at = p->data_total - p->data_left;

    if (p->capture[0] && panel < UP_CAPTURE_PANELS && at < UP_CAPTURE_SIZE)
        p->capture[panel][at] = c;
}

static void answer(struct printer_emulator *p, const void *data, size_t len)
{
    unsigned slot;

    if (p->fault == PRINTER_EMULATOR_FAULT_MUTE || p->answer_count == UP_ANSWERS)
        return;
    if (len > UP_ANSWER_MAX)
        len = UP_ANSWER_MAX;
    slot = (p->answer_head + p->answer_count) % UP_ANSWERS;
    memcpy(p->answers[slot], data, len);
    p->answer_len[slot] = len;
    p->answer_count++;
}

static void answer_text(struct printer_emulator *p, const char *text)
{
    answer(p, text, strlen(text));
}

/* --- Evolis
 * ---------------------------------------------------------------------------------------------------- */

static const char *evolis_move_blocked(struct printer_emulator *p)
{
    if (p->st.cover_open)
        return "ERROR COVER OPEN";
    if (p->st.jammed)
        return "ERROR MECHANICAL";
    return NULL;
}

static const char *panel_bits(const char *cmd, unsigned *ret_bits, char *ret_panel)
{
    /* "Db;p;code;" */
    unsigned code;
    char panel;

    if (sscanf(cmd, "Db;%c;%u;", &panel, &code) != 2)
        return "ERROR PAR";
    switch (code) {
    case 2:
        *ret_bits = 1;
        break;
    case 32:
        *ret_bits = 5;
        break;
    case 64:
        *ret_bits = 6;
        break;
    case 128:
        *ret_bits = 7;
        break;
    default:
        return "ERROR PAR";
    }
    if (!strchr("ymcko", panel))
        return "ERROR PAR";
    *ret_panel = panel;
    return NULL;
}

static void evolis_command(struct printer_emulator *p, const char *cmd)
{
    const char *blocked = evolis_move_blocked(p);
    struct printer_emulator_state *st = &p->st;

    if (!strcmp(cmd, "Pem;2") || !strcmp(cmd, "Pneab;E") || !strcmp(cmd, "Pcrm;D") ||
        !strcmp(cmd, "Pr;ymcko")) {
        answer_text(p, "OK");
    } else if (!strcmp(cmd, "Rlr;p")) {
        answer_text(p, st->position == PRINTER_EMULATOR_CARD_NONE    ? "OK"
                       : st->position == PRINTER_EMULATOR_CARD_PRINT ? "CARD"
                                                                     : "CARD SMART");
    } else if (!strcmp(cmd, "Rse;f")) {
        answer_text(p, st->feeder ? "5,00 Volts" : "0,00 Volts");
    } else if (!strcmp(cmd, "Si")) {
        if (blocked)
            answer_text(p, blocked);
        else if (st->position != PRINTER_EMULATOR_CARD_NONE)
            answer_text(p, "ERROR CDE");
        else if (!st->feeder)
            answer_text(p, "ERROR FEEDER EMPTY");
        else {
            st->feeder--;
            st->position = PRINTER_EMULATOR_CARD_PRINT;
            answer_text(p, "OK");
        }
    } else if (!strcmp(cmd, "Ss")) {
        p->in_sequence = true;
        p->panels = 0;
        answer_text(p, "OK");
    } else if (!strcmp(cmd, "Sr")) {
        if (blocked)
            answer_text(p, blocked);
        else if (!p->in_sequence || p->panels != 0x1f || st->position != PRINTER_EMULATOR_CARD_PRINT)
            answer_text(p, "ERROR CDE");
        else if (!st->ribbon)
            answer_text(p, "ERROR RIBBON ENDED");
        else if (st->jam_next_print) {
            st->jam_next_print = false;
            st->jammed = true;
            st->ribbon--;
            answer_text(p, "ERROR MECHANICAL");
        } else {
            st->ribbon--;
            st->printed++;
            capture_face(p);
            answer_text(p, "OK");
        }
        p->in_sequence = false;
    } else if (!strcmp(cmd, "Sis")) {
        if (blocked)
            answer_text(p, blocked);
        else if (st->position == PRINTER_EMULATOR_CARD_NONE)
            answer_text(p, "ERROR CDE");
        else {
            st->position = PRINTER_EMULATOR_CARD_CONTACT;
            answer_text(p, "OK");
        }
    } else if (!strcmp(cmd, "Se") || !strcmp(cmd, "Ser")) {
        bool reject = cmd[2] == 'r';

        if (blocked)
            answer_text(p, blocked);
        else if (st->position == PRINTER_EMULATOR_CARD_NONE)
            answer_text(p, "ERROR CDE");
        else if (reject && st->reject_full)
            answer_text(p, "ERROR REJECT BOX FULL");
        else {
            st->position = PRINTER_EMULATOR_CARD_NONE;
            if (reject)
                st->rejected++;
            else
                st->ejected++;
            answer_text(p, "OK");
        }
    } else {
        answer_text(p, "ERROR CDE");
    }
}

static void evolis_byte(struct printer_emulator *p, uint8_t c)
{
    switch (p->parse) {
    case UP_IDLE:
        if (c == 0x1b) {
            p->parse = UP_CMD;
            p->cmd_len = 0;
            p->cmd_overflow = false;
        }
        break;
    case UP_CMD:
        if (c == 0x0d) {
            p->cmd[p->cmd_len] = '\0';
            p->parse = UP_IDLE;
            evolis_command(p, p->cmd_overflow ? "" : p->cmd);
            break;
        }
        if (p->cmd_len + 1 >= UP_CMD_MAX) {
            p->cmd_overflow = true;
            break;
        }
        p->cmd[p->cmd_len++] = (char)c;
        /* "Db;p;code;" starts a binary payload of a known size: CRs inside it are data */
        if (c == ';' && p->cmd_len > 3 && !strncmp(p->cmd, "Db;", 3)) {
            unsigned semis = 0, bits;
            char panel;

            for (size_t i = 0; i < p->cmd_len; i++)
                semis += p->cmd[i] == ';';
            p->cmd[p->cmd_len] = '\0';
            if (semis == 3) {
                if (panel_bits(p->cmd, &bits, &panel)) {
                    p->cmd_overflow = true;
                } else {
                    p->data_total = p->data_left = (size_t)UP_PANEL_PIXELS * bits / 8;
                    p->ev_panel = (unsigned)(strchr("ymcko", panel) - "ymcko");
                    p->capture_bits[p->ev_panel] = bits;
                    p->parse = UP_DATA;
                }
            }
        }
        break;
    case UP_DATA:
        capture_byte(p, p->ev_panel, c);
        if (--p->data_left == 0)
            p->parse = UP_DATA_END;
        break;
    case UP_DATA_END: {
        unsigned bits;
        char panel;

        p->parse = UP_IDLE;
        panel_bits(p->cmd, &bits, &panel);
        if (c != 0x0d || !p->in_sequence) {
            answer_text(p, "ERROR CDE");
        } else {
            p->panels |= 1u << (strchr("ymcko", panel) - "ymcko");
            answer_text(p, "OK");
        }
        break;
    }
    default:
        p->parse = UP_IDLE;
        break;
    }
}

/* --- Magicard
 * -------------------------------------------------------------------------------------------------- */

static void magicard_status(struct printer_emulator *p)
{
    char text[UP_ANSWER_MAX - 4];
    uint8_t frame[UP_ANSWER_MAX];
    const struct printer_emulator_state *st = &p->st;
    const char *state = st->cover_open ? "LID OPEN"
                        : st->jammed   ? "CARD JAM"
                        : p->mc_error  ? p->mc_error
                                       : "READY";
    int n;

    n = snprintf(text, sizeof(text), "STA,MSR,%s%s", state,
                 st->position == PRINTER_EMULATOR_CARD_PRINT     ? ",CARD PRINT"
                 : st->position == PRINTER_EMULATOR_CARD_CONTACT ? ",CARD CHIP"
                                                                 : "");
    frame[0] = 0x01;
    memcpy(frame + 1, text, (size_t)n);
    frame[n + 1] = 0x1c;
    frame[n + 2] = 0x03;
    answer(p, frame, (size_t)n + 3);
}

static const char *magicard_blocked(struct printer_emulator *p)
{
    if (p->st.cover_open)
        return "LID OPEN";
    if (p->st.jammed)
        return "CARD JAM";
    return NULL;
}

static void magicard_command(struct printer_emulator *p, const char *cmd)
{
    struct printer_emulator_state *st = &p->st;
    const char *blocked;

    if (!strcmp(cmd, "REQ,STA,MSR,")) {
        magicard_status(p);
        return;
    }
    p->mc_error = NULL;
    blocked = magicard_blocked(p);
    if (!strcmp(cmd, "RST,")) {
        st->jammed = false;
    } else if (!strcmp(cmd, "CHP,")) {
        if (blocked)
            p->mc_error = blocked;
        else if (st->position == PRINTER_EMULATOR_CARD_NONE)
            p->mc_error = "ERROR";
        else
            st->position = PRINTER_EMULATOR_CARD_CONTACT;
    } else if (!strcmp(cmd, "EJT,") || !strcmp(cmd, "EJT,REJ,")) {
        bool reject = cmd[4] == 'R';

        if (blocked)
            p->mc_error = blocked;
        else if (st->position == PRINTER_EMULATOR_CARD_NONE)
            p->mc_error = "ERROR";
        else if (reject && st->reject_full)
            p->mc_error = "REJECT FULL";
        else {
            st->position = PRINTER_EMULATOR_CARD_NONE;
            if (reject)
                st->rejected++;
            else
                st->ejected++;
        }
    } else {
        p->mc_error = "ERROR";
    }
}

static void magicard_job(struct printer_emulator *p)
{
    struct printer_emulator_state *st = &p->st;
    const char *blocked = magicard_blocked(p);

    p->mc_error = NULL;
    if (p->mc_job_bad)
        p->mc_error = "ERROR";
    else if (blocked)
        p->mc_error = blocked;
    else if (st->position != PRINTER_EMULATOR_CARD_NONE)
        p->mc_error = "ERROR";
    else if (!st->feeder)
        p->mc_error = "NO CARDS";
    else {
        st->feeder--;
        st->position = PRINTER_EMULATOR_CARD_PRINT;
        if (!st->ribbon) {
            p->mc_error = "RIBBON OUT";
        } else if (st->jam_next_print) {
            st->jam_next_print = false;
            st->jammed = true;
            st->ribbon--;
        } else {
            st->ribbon--;
            st->printed++;
            capture_face(p);
        }
    }
}

/* "...,SZB512064,..." -> sizes of B G R K */
static bool magicard_header(struct printer_emulator *p)
{
    static const char letters[] = "BGRK";

    for (int i = 0; i < 4; i++) {
        char key[6] = {',', 'S', 'Z', letters[i], 0, 0};
        const char *at = strstr(p->cmd, key);
        unsigned long v;

        if (!at)
            return false;
        v = strtoul(at + 4, NULL, 10);
        if (v == 0 || v > 4u * 1024 * 1024)
            return false;
        p->mc_sizes[i] = v;
    }
    return strstr(p->cmd, ",IMFBGRK,") != NULL;
}

static void magicard_byte(struct printer_emulator *p, uint8_t c)
{
    switch (p->parse) {
    case UP_IDLE:
        if (c == 0x05) {
            p->parse = UP_MC_GUARDS;
            p->guards = 1;
        }
        break;
    case UP_MC_GUARDS:
        if (c == 0x05) {
            p->guards++;
        } else if (c == 0x01) {
            p->cmd_len = 0;
            p->cmd_overflow = false;
            p->parse = p->guards >= UP_MC_GUARDS_JOB ? UP_MC_HEADER : UP_MC_TEXT;
        } else {
            p->parse = UP_IDLE;
        }
        break;
    case UP_MC_TEXT:
    case UP_MC_HEADER:
        if (c == 0x1c) {
            p->cmd[p->cmd_len] = '\0';
            if (p->parse == UP_MC_TEXT) {
                p->parse = UP_MC_ETX;
            } else {
                p->mc_job_bad = p->cmd_overflow || !magicard_header(p);
                p->mc_plane = 0;
                p->mc_plane_step = 0;
                p->parse = p->mc_job_bad ? UP_IDLE : UP_MC_PLANE;
                if (p->mc_job_bad)
                    magicard_job(p);
            }
        } else if (p->cmd_len + 1 < UP_CMD_MAX) {
            p->cmd[p->cmd_len++] = (char)c;
        } else {
            p->cmd_overflow = true;
        }
        break;
    case UP_MC_ETX:
        p->parse = UP_IDLE;
        magicard_command(p, c == 0x03 && !p->cmd_overflow ? p->cmd : "");
        break;
    case UP_MC_PLANE:
        if (p->mc_plane == 4) {
            p->parse = UP_IDLE;
            p->mc_job_bad = c != 0x03;
            magicard_job(p);
        } else if (p->mc_plane_step == 0) {
            p->mc_plane_step = c == 0x1c ? 1 : 9;
        } else if (p->mc_plane_step == 1) {
            p->mc_plane_step = c == (uint8_t) "BGRK"[p->mc_plane] ? 2 : 9;
        } else if (p->mc_plane_step == 2 && c == ':') {
            p->data_total = p->data_left = p->mc_sizes[p->mc_plane];
            p->parse = UP_MC_DATA;
        } else {
            p->mc_plane_step = 9;
        }
        if (p->mc_plane_step == 9) {
            p->mc_job_bad = true;
            p->parse = UP_IDLE;
            magicard_job(p);
        }
        break;
    case UP_MC_DATA:
        capture_byte(p, p->mc_plane, c);
        if (--p->data_left == 0) {
            p->mc_plane++;
            p->mc_plane_step = 0;
            p->parse = UP_MC_PLANE;
        }
        break;
    default:
        p->parse = UP_IDLE;
        break;
    }
}

/* --- transfers
 * ------------------------------------------------------------------------------------------------- */

static void keep_received(struct printer_emulator *p, const uint8_t *data, size_t len)
{
    if (p->received_len + len > UP_RECEIVED_MAX)
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
            evolis_byte(p, data[i]);
        else
            magicard_byte(p, data[i]);
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
    p->answer_head = (p->answer_head + 1) % UP_ANSWERS;
    p->answer_count--;
    pthread_mutex_unlock(&p->lock);
    return (int)n;
}
