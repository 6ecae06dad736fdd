/* gen.h — one generated application as a pure function of (seed, index), for the generator and its tests */
#pragma once

#include "intake/gen_portrait.h"
#include "photo.h"
#include "base/rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many portraits are drawn for one applicant before the generator gives up on the photo profile. */
#define PRODUCER_GEN_PORTRAIT_TRIES 32

/* Problems a person must fix, for --defects; each leads to a hold with its own reason. */
enum producer_gen_defect {
    PRODUCER_GEN_DEFECT_CHECK_CHAR,
    PRODUCER_GEN_DEFECT_UNKNOWN_OUTLET,
    PRODUCER_GEN_DEFECT_BIRTH_MISMATCH,
    PRODUCER_GEN_DEFECT_REPLACEMENT_NOT_LOST,
    PRODUCER_GEN_DEFECT_ALREADY_HAS_CARD,
    PRODUCER_GEN_DEFECT_BAD_PHOTO,
    PRODUCER_GEN_DEFECT_COUNT
};

/* An outlet applications are accepted at, as configured (table outlet). */
struct producer_gen_outlet {
    char code[17];
    /* a cooperating bank's window: that bank's name (the configured bank the outlet's name begins with; the
     * account is opened with it); "" for an HR&SS window */
    char bank[101];
};

/* What every item of one run shares; read-only while items are made. */
struct producer_gen_ctx {
    uint32_t seed;
    uint32_t run_id;        /* names the run in upstream ids (SQ<run_id>-<index>) */
    int today;              /* the bureau's today, YYYYMMDD: ages are counted from its year */
    const char (*days)[11]; /* the days applications may have been accepted on (YYYY-MM-DD) */
    int ndays;
    const struct producer_portrait_source *portraits;
    const struct photo_checker *checker; /* NULL: portraits are not checked (tests of the generator only) */
    const struct photo_profile *profile; /* the bureau's photo rules the portraits must pass */
    const char (*banks)[101];            /* the cooperating banks (NULL: the defaults of a new database) */
    int nbanks;
    /* the bureau's region (setting region_code): most applicants are born and registered in its districts
     * and counties; NULL: a new database's (440200, Shaoguan) */
    const char *region;
    /* the bureau's outlets (NULL: those `cardline gen outlets` writes into a bureau that has none) */
    const struct producer_gen_outlet *outlets;
    int noutlets;
};

/* One application as the upstream platform would send it, before it is written. */
struct producer_gen_item {
    struct producer_app app;
    char accepted[40]; /* YYYY-MM-DD HH:MM:00, the bureau's wall-clock time (its zone is added when stored) */
    int priority;
    char old_card_status[16]; /* "": no earlier card; else the status the person's earlier card is in */
    bool old_card_replaced;   /* the application replaces or exchanges that earlier card */
    uint32_t old_card_seed;   /* draws the earlier card's number and issue date */
    uint8_t *jpeg;            /* the photo (malloc'd) */
    size_t jpeg_len;
};

/* GB/T 2260 codes of the districts and counties of the prefecture region belongs to (its first four digits)
 * that the generator knows, at most max into ret; returns how many (0 when it knows none). */
int producer_gen_local_regions(const char *region, const char **ret, int max);

/* Make item index of the run: the same (ctx->seed, index, days, today) always give the same person and photo.
 * defect < 0 makes a good application whose photo passes ctx->profile (portraits that fail are drawn again);
 * otherwise the defect asked for. Returns 0 (clear the item with producer_gen_item_clear) or a negative
 * PRODUCER_ERROR; *ret untouched on failure. */
int producer_gen_item_make(const struct producer_gen_ctx *ctx, int index, int defect,
                           struct producer_gen_item *ret);
void producer_gen_item_clear(struct producer_gen_item *it);
