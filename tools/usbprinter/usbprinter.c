/* usbprinter.c — the emulated printer's protocol parsers and machine state (Evolis ESC…CR, Magicard 0x05/0x01
 * frames) */
#include "usbprinter.h"

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

struct usbprinter {
    pthread_mutex_t lock;
    enum usbprinter_kind kind;
    char serial[64];
    char device_id[256];
    struct usbprinter_state st;
    enum usbprinter_fault fault;
    size_t fault_after;
    bool unplugged;

    enum up_parse parse;
    char cmd[UP_CMD_MAX];
    size_t cmd_len;
    bool cmd_overflow;
    size_t data_left;
    unsigned guards;
    /* Evolis */
    bool in_sequence;
    unsigned panels; /* bit per panel y m c k o received in this sequence */
    /* Magicard */
    const char *mc_error; /* what the last command failed with, shown by the next status */
    size_t mc_sizes[4];   /* B G R K */
    unsigned mc_plane;    /* planes done */
    unsigned mc_plane_step;
    bool mc_job_bad;

    char answers[UP_ANSWERS][UP_ANSWER_MAX];
    size_t answer_len[UP_ANSWERS];
    unsigned answer_head, answer_count;

    uint8_t *received;
    size_t received_len, received_cap;
};

struct usbprinter *usbprinter_new(enum usbprinter_kind kind, const char *serial)
{
    struct usbprinter *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->kind = kind;
    snprintf(p->serial, sizeof(p->serial), "%s", serial ? serial : "EMU0001");
    if (kind == USBPRINTER_EVOLIS)
        snprintf(p->device_id, sizeof(p->device_id),
                 "MFG:Evolis;CMD:ESC;MDL:Primacy;CLS:PRINTER;DES:Evolis Primacy;SN:%s;", p->serial);
    else
        snprintf(p->device_id, sizeof(p->device_id),
                 "MANUFACTURER:Magicard;COMMAND SET:MCL;MODEL:Rio Pro;CLASS:PRINTER;SERIALNUMBER:%s;",
                 p->serial);
    p->st.feeder = UP_FEEDER;
    p->st.ribbon = UP_RIBBON;
    return p;
}

void usbprinter_free(struct usbprinter *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->received);
    free(p);
}

void usbprinter_get_state(struct usbprinter *p, struct usbprinter_state *ret)
{
    pthread_mutex_lock(&p->lock);
    *ret = p->st;
    pthread_mutex_unlock(&p->lock);
}

void usbprinter_set_state(struct usbprinter *p, const struct usbprinter_state *state)
{
    pthread_mutex_lock(&p->lock);
    p->st = *state;
    p->mc_error = NULL; /* an operator acted: the last command's fault is cleared */
    pthread_mutex_unlock(&p->lock);
}

void usbprinter_set_fault(struct usbprinter *p, enum usbprinter_fault fault, size_t after_bytes)
{
    pthread_mutex_lock(&p->lock);
    p->fault = fault;
    p->fault_after = after_bytes;
    pthread_mutex_unlock(&p->lock);
}

bool usbprinter_unplugged(struct usbprinter *p)
{
    bool gone;

    pthread_mutex_lock(&p->lock);
    gone = p->unplugged;
    pthread_mutex_unlock(&p->lock);
    return gone;
}

const char *usbprinter_device_id(const struct usbprinter *p)
{
    return p->device_id;
}

uint16_t usbprinter_vendor(const struct usbprinter *p)
{
    return p->kind == USBPRINTER_EVOLIS ? USBPRINTER_EVOLIS_VENDOR : USBPRINTER_MAGICARD_VENDOR;
}

uint16_t usbprinter_product(const struct usbprinter *p)
{
    return p->kind == USBPRINTER_EVOLIS ? USBPRINTER_EVOLIS_PRODUCT : USBPRINTER_MAGICARD_PRODUCT;
}

const char *usbprinter_serial(const struct usbprinter *p)
{
    return p->serial;
}

const char *usbprinter_product_name(const struct usbprinter *p)
{
    return p->kind == USBPRINTER_EVOLIS ? "Evolis Primacy" : "Magicard Rio Pro";
}

const char *usbprinter_manufacturer(const struct usbprinter *p)
{
    return p->kind == USBPRINTER_EVOLIS ? "Evolis" : "Magicard";
}

uint8_t *usbprinter_take_received(struct usbprinter *p, size_t *ret_len)
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

static void answer(struct usbprinter *p, const void *data, size_t len)
{
    unsigned slot;

    if (p->fault == USBPRINTER_FAULT_MUTE || p->answer_count == UP_ANSWERS)
        return;
    if (len > UP_ANSWER_MAX)
        len = UP_ANSWER_MAX;
    slot = (p->answer_head + p->answer_count) % UP_ANSWERS;
    memcpy(p->answers[slot], data, len);
    p->answer_len[slot] = len;
    p->answer_count++;
}

static void answer_text(struct usbprinter *p, const char *text)
{
    answer(p, text, strlen(text));
}

/* --- Evolis
 * ---------------------------------------------------------------------------------------------------- */

static const char *evolis_move_blocked(struct usbprinter *p)
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

static void evolis_command(struct usbprinter *p, const char *cmd)
{
    const char *blocked = evolis_move_blocked(p);
    struct usbprinter_state *st = &p->st;

    if (!strcmp(cmd, "Pem;2") || !strcmp(cmd, "Pneab;E") || !strcmp(cmd, "Pcrm;D") ||
        !strcmp(cmd, "Pr;ymcko")) {
        answer_text(p, "OK");
    } else if (!strcmp(cmd, "Rlr;p")) {
        answer_text(p, st->position == USBPRINTER_CARD_NONE    ? "OK"
                       : st->position == USBPRINTER_CARD_PRINT ? "CARD"
                                                               : "CARD SMART");
    } else if (!strcmp(cmd, "Rse;f")) {
        answer_text(p, st->feeder ? "5,00 Volts" : "0,00 Volts");
    } else if (!strcmp(cmd, "Si")) {
        if (blocked)
            answer_text(p, blocked);
        else if (st->position != USBPRINTER_CARD_NONE)
            answer_text(p, "ERROR CDE");
        else if (!st->feeder)
            answer_text(p, "ERROR FEEDER EMPTY");
        else {
            st->feeder--;
            st->position = USBPRINTER_CARD_PRINT;
            answer_text(p, "OK");
        }
    } else if (!strcmp(cmd, "Ss")) {
        p->in_sequence = true;
        p->panels = 0;
        answer_text(p, "OK");
    } else if (!strcmp(cmd, "Sr")) {
        if (blocked)
            answer_text(p, blocked);
        else if (!p->in_sequence || p->panels != 0x1f || st->position != USBPRINTER_CARD_PRINT)
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
            answer_text(p, "OK");
        }
        p->in_sequence = false;
    } else if (!strcmp(cmd, "Sis")) {
        if (blocked)
            answer_text(p, blocked);
        else if (st->position == USBPRINTER_CARD_NONE)
            answer_text(p, "ERROR CDE");
        else {
            st->position = USBPRINTER_CARD_CONTACT;
            answer_text(p, "OK");
        }
    } else if (!strcmp(cmd, "Se") || !strcmp(cmd, "Ser")) {
        bool reject = cmd[2] == 'r';

        if (blocked)
            answer_text(p, blocked);
        else if (st->position == USBPRINTER_CARD_NONE)
            answer_text(p, "ERROR CDE");
        else if (reject && st->reject_full)
            answer_text(p, "ERROR REJECT BOX FULL");
        else {
            st->position = USBPRINTER_CARD_NONE;
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

static void evolis_byte(struct usbprinter *p, uint8_t c)
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
                    p->data_left = (size_t)UP_PANEL_PIXELS * bits / 8;
                    p->parse = UP_DATA;
                }
            }
        }
        break;
    case UP_DATA:
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

static void magicard_status(struct usbprinter *p)
{
    char text[UP_ANSWER_MAX - 4];
    uint8_t frame[UP_ANSWER_MAX];
    const struct usbprinter_state *st = &p->st;
    const char *state = st->cover_open ? "LID OPEN"
                        : st->jammed   ? "CARD JAM"
                        : p->mc_error  ? p->mc_error
                                       : "READY";
    int n;

    n = snprintf(text, sizeof(text), "STA,MSR,%s%s", state,
                 st->position == USBPRINTER_CARD_PRINT     ? ",CARD PRINT"
                 : st->position == USBPRINTER_CARD_CONTACT ? ",CARD CHIP"
                                                           : "");
    frame[0] = 0x01;
    memcpy(frame + 1, text, (size_t)n);
    frame[n + 1] = 0x1c;
    frame[n + 2] = 0x03;
    answer(p, frame, (size_t)n + 3);
}

static const char *magicard_blocked(struct usbprinter *p)
{
    if (p->st.cover_open)
        return "LID OPEN";
    if (p->st.jammed)
        return "CARD JAM";
    return NULL;
}

static void magicard_command(struct usbprinter *p, const char *cmd)
{
    struct usbprinter_state *st = &p->st;
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
        else if (st->position == USBPRINTER_CARD_NONE)
            p->mc_error = "ERROR";
        else
            st->position = USBPRINTER_CARD_CONTACT;
    } else if (!strcmp(cmd, "EJT,") || !strcmp(cmd, "EJT,REJ,")) {
        bool reject = cmd[4] == 'R';

        if (blocked)
            p->mc_error = blocked;
        else if (st->position == USBPRINTER_CARD_NONE)
            p->mc_error = "ERROR";
        else if (reject && st->reject_full)
            p->mc_error = "REJECT FULL";
        else {
            st->position = USBPRINTER_CARD_NONE;
            if (reject)
                st->rejected++;
            else
                st->ejected++;
        }
    } else {
        p->mc_error = "ERROR";
    }
}

static void magicard_job(struct usbprinter *p)
{
    struct usbprinter_state *st = &p->st;
    const char *blocked = magicard_blocked(p);

    p->mc_error = NULL;
    if (p->mc_job_bad)
        p->mc_error = "ERROR";
    else if (blocked)
        p->mc_error = blocked;
    else if (st->position != USBPRINTER_CARD_NONE)
        p->mc_error = "ERROR";
    else if (!st->feeder)
        p->mc_error = "NO CARDS";
    else {
        st->feeder--;
        st->position = USBPRINTER_CARD_PRINT;
        if (!st->ribbon) {
            p->mc_error = "RIBBON OUT";
        } else if (st->jam_next_print) {
            st->jam_next_print = false;
            st->jammed = true;
            st->ribbon--;
        } else {
            st->ribbon--;
            st->printed++;
        }
    }
}

/* "...,SZB512064,..." -> sizes of B G R K */
static bool magicard_header(struct usbprinter *p)
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

static void magicard_byte(struct usbprinter *p, uint8_t c)
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
            p->data_left = p->mc_sizes[p->mc_plane];
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

static void keep_received(struct usbprinter *p, const uint8_t *data, size_t len)
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

int usbprinter_write(struct usbprinter *p, const uint8_t *data, size_t len)
{
    bool gone;

    pthread_mutex_lock(&p->lock);
    if (p->unplugged) {
        pthread_mutex_unlock(&p->lock);
        return -ENODEV;
    }
    if (p->fault == USBPRINTER_FAULT_STALL) {
        p->fault = USBPRINTER_FAULT_NONE;
        pthread_mutex_unlock(&p->lock);
        return -EPIPE;
    }
    if (p->fault == USBPRINTER_FAULT_UNPLUG) {
        if (len >= p->fault_after) {
            /* the cable comes out part-way through this transfer */
            len = p->fault_after;
            p->unplugged = true;
        } else {
            p->fault_after -= len;
        }
    }
    keep_received(p, data, len);
    for (size_t i = 0; i < len; i++) {
        if (p->kind == USBPRINTER_EVOLIS)
            evolis_byte(p, data[i]);
        else
            magicard_byte(p, data[i]);
    }
    gone = p->unplugged;
    pthread_mutex_unlock(&p->lock);
    return gone ? -ENODEV : 0;
}

int usbprinter_read(struct usbprinter *p, uint8_t *buf, size_t cap)
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
