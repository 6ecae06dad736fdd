/* line-private.h — what the line's files share: the controller, a line, the job in hand, the face renderer
 * and the per-card state machine with its fault tables */
#pragma once

#include "line/line.h"

#include "base/config.h"
#include "intake/bank.h"
#include "encoder.h"
#include "photo.h"
#include "printer.h"
#include "producer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct controller {
    const struct db_config *db;
    const struct producer_run_config *cfg;
    char id[96]; /* host:pid:random, the owner written into leases */
    char faces_dir[PATH_MAX + 16];
    uint8_t master_key[16]; /* per-run issuer key shared by the simulated cards and the soft key service */
    char card_prefix[2];
    char region[7];
    int max_attempts;
    bool bank_required; /* setting bank_application = required: cards (not temporary ones) need bank data */
    struct printer_layout *layout;    /* the card face layout, loaded once and shared by the line threads */
    struct encoder_key_service *keys; /* one per controller, shared by its lines (a PSAM has one owner) */
    struct photo_checker *photo_checker; /* face and eye models, loaded once, read-only for the lines */
    struct photo_profile photo_profile;  /* the bureau's photo rules */
    /* the card types the stations accept, comma-separated */
    char atr_allow[CONFIG_MAX_ATRS * (CONFIG_ATR_TEXT_MAX + 1)];
    atomic_int cards_done; /* good cards of this run, against cfg->max_cards */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int lines_running;
};

struct render_task;

/* The encoder's personalisation as the line calls it (encoder_personalize; tests put a fake in between). */
typedef int line_personalize_fn(struct encoder_transport *t, struct encoder_key_service *ks,
                                const struct encoder_card_data *data, struct encoder_result *ret);

struct line {
    struct controller *ctl;
    int index;
    char id[72];
    const char *printer_spec;
    const char *encoder_spec;
    bool counter;
    PGconn *conn;
    const struct line_store_ops *store; /* the state machine's database: line_store_pg over &claimer */
    void *store_ctx;
    struct printer *printer;
    struct encoder_transport *encoder;
    line_personalize_fn *personalize;
    int good, spoiled, held;
    /* the application in hand, whose lease the heartbeat extends; 0 when none. An application the line lost
     * track of (database error mid-card) is not in hand, so its lease runs out and the rescuer takes it back.
     */
    _Atomic int64_t in_hand;
    int64_t busy_ns; /* time spent inside device operations ... */
    int64_t
        first_work_ns; /* ... over the time from its first claim to the end of its last card: utilisation */
    int64_t last_work_ns;
    struct producer_claimer claimer;
    /* the line's face renderer: one thread for the line's life, so its font caches stay warm */
    pthread_mutex_t render_lock;
    pthread_cond_t render_cond;
    pthread_t render_thread;
    bool render_started, render_quit;
    struct render_task *render_pending; /* handed to the renderer, not yet taken; NULL when none */
};

int64_t line_mono_ns(void);

/* --- the face renderer (render.c) ----------------------------------------------------------------------- */

/* The card's face is rendered on its own thread while the chip is personalised, so that the printer never
 * waits for the renderer (DESIGN: the face is ready while the card is in the printer). */
struct render_task {
    struct printer_face face;
    struct printer_raster *raster;
    int r;
    bool running; /* handed to the line's renderer and not yet joined */
    bool done;    /* the renderer has finished it (under render_lock) */
};

/* Starts the line's renderer (when none can be started, faces are rendered in the line's thread). */
void line_render_worker_start(struct line *l);
void line_render_worker_stop(struct line *l);
void line_render_start(struct line *l, struct render_task *t);
/* Waits for the face; hands the raster over (NULL when rendering failed, see t->r). Idempotent. */
struct printer_raster *line_render_join(struct line *l, struct render_task *t);

/* --- the per-card state machine (card.c) ---------------------------------------------------------------- */

/* What a failed step does to the card in hand. */
enum line_card_fate {
    LINE_FATE_REQUEUE = 1, /* the blank never left the hopper: number given up, application back untouched */
    LINE_FATE_SPOIL,       /* the card is spoiled; the application is retried, or held after max_attempts */
    LINE_FATE_SPOIL_HOLD,  /* the card is spoiled and the application held at once: its data is at fault */
};

/* A failed step's action: what happens to the card, and whether the line pauses for an operator. */
struct line_fault_action {
    enum line_card_fate fate;
    bool pause_line;
};

/* The physical steps a printer fault can happen in. */
enum line_step {
    LINE_STEP_FEED,
    LINE_STEP_TO_ENCODER,
    LINE_STEP_PRINT,
    LINE_STEP_EJECT,
    LINE_STEP_COUNT,
};

/* The action for a printer failure in step with the driver's disposition. */
struct line_fault_action line_printer_fault(enum line_step step, enum printer_disposition disp);
/* The action for an encoder error (a negative ENCODER_ERROR), and the words the spoil reason starts with. */
struct line_fault_action line_encoder_fault(int err, const char **ret_what);

/* What one claimed application needs on its way through the line. */
struct line_job {
    struct producer_claim c;
    char card_number[10];
    struct photo_image *photo;
    bool has_bank;                  /* the card carries the bank's application: bank is loaded */
    struct producer_bank_card bank; /* the bank's data, checked before a blank is taken */
};

enum line_next {
    LINE_NEXT_IDLE = 0,   /* nothing was pending */
    LINE_NEXT_WORKED = 1, /* one application went through (produced, spoiled, held or requeued) */
    LINE_NEXT_STOP = 2,   /* the line paused for an operator and must stop */
};

/* Claim one application and take it through the line. Returns an enum line_next, or the claim's negative
 * error (the caller backs off). */
int line_work_one(struct line *l);
