/* pcsc.c — the PC/SC card transport (pcscd): reader by name, T=0/T=1, card removal, bounded waits, reader
 * list */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

#include "encoder-private.h"

/*
 * PC/SC has no timeout on SCardTransmit or SCardConnect: a card (or a reader driver) that never answers would
 * hold the line forever. So every PC/SC call of a transport runs on the transport's own worker thread, and
 * the caller waits for it with a deadline. A call that misses its deadline is reported as
 * ENCODER_ERROR_TIMEOUT and left to finish on the worker; until it has, the transport refuses new work (the
 * reader is still busy). Closing a transport whose worker is stuck hands the worker the job of cleaning up
 * once the call returns.
 */

#define DEFAULT_CARD_WAIT_MS 2000
#define DEFAULT_APDU_TIMEOUT 5000
#define ESTABLISH_TIMEOUT_MS 5000
#define READER_LIST_MAX      4096

enum job_state { JOB_IDLE, JOB_PENDING, JOB_RUNNING, JOB_DONE };

struct pcsc;
typedef int (*pcsc_job_fn)(struct pcsc *p);

struct pcsc {
    struct encoder_transport *t; /* the owner (for last_error); not touched by the worker */
    char reader_spec[ENCODER_READER_NAME_MAX];
    unsigned card_wait_ms;
    unsigned apdu_timeout_ms;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    enum job_state state;
    pcsc_job_fn job;
    int job_result;
    bool stop;
    bool orphaned; /* closed while a call was stuck: the worker frees everything */

    /* Owned by the worker while a job runs; read by the caller only after JOB_DONE. */
    SCARDCONTEXT ctx;
    bool have_ctx;
    SCARDHANDLE card;
    bool connected;
    DWORD protocol;
    char reader[ENCODER_READER_NAME_MAX]; /* the resolved reader name */
    char err[128];
    uint8_t tx[ENCODER_APDU_MAX];
    size_t tx_len;
    uint8_t rx[ENCODER_RESP_MAX];
    size_t rx_len;
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len;
    /* transmit_many: the worker's own copies, so a call that times out never writes into its caller's memory
     */
    size_t batch_n, batch_done;
    uint8_t batch_tx[ENCODER_BATCH_MAX][ENCODER_APDU_MAX];
    size_t batch_tx_len[ENCODER_BATCH_MAX];
    uint8_t batch_rx[ENCODER_BATCH_MAX][ENCODER_RESP_MAX];
    size_t batch_rx_len[ENCODER_BATCH_MAX];
};

static void set_err(struct pcsc *p, const char *what, LONG rv)
{
    snprintf(p->err, sizeof p->err, "%s: %s", what, pcsc_stringify_error(rv));
}

/* SCARD_* -> ENCODER_ERROR, with the PC/SC words kept in p->err. */
static int map_rv(struct pcsc *p, const char *what, LONG rv)
{
    set_err(p, what, rv);
    switch (rv) {
    case SCARD_W_REMOVED_CARD:
    case SCARD_E_NO_SMARTCARD:
        return ENCODER_ERROR_NO_CARD;
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_NO_READERS_AVAILABLE:
    case SCARD_E_READER_UNAVAILABLE:
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
        return ENCODER_ERROR_NO_READER;
    case SCARD_E_TIMEOUT:
        return ENCODER_ERROR_TIMEOUT;
    case SCARD_E_NO_MEMORY:
        return ENCODER_ERROR_NOMEM;
    default:
        return ENCODER_ERROR_TRANSPORT;
    }
}

/* ---- the worker ---- */

static void pcsc_release(struct pcsc *p)
{
    if (p->connected)
        SCardDisconnect(p->card, SCARD_UNPOWER_CARD);
    p->connected = false;
    if (p->have_ctx)
        SCardReleaseContext(p->ctx);
    p->have_ctx = false;
}

static void pcsc_destroy(struct pcsc *p)
{
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

static void *pcsc_worker(void *arg)
{
    struct pcsc *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->state != JOB_PENDING && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->state != JOB_PENDING)
            break; /* stop */
        p->state = JOB_RUNNING;
        pcsc_job_fn job = p->job;
        pthread_mutex_unlock(&p->lock);
        int r = job(p);
        pthread_mutex_lock(&p->lock);
        p->job_result = r;
        p->state = JOB_DONE;
        pthread_cond_broadcast(&p->cond);
        if (p->orphaned)
            break;
    }
    bool orphaned = p->orphaned;
    pthread_mutex_unlock(&p->lock);
    pcsc_release(p);
    if (orphaned)
        pcsc_destroy(p);
    return NULL;
}

static void deadline_after(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Run job on the worker and wait at most timeout_ms for it. */
static int pcsc_run(struct pcsc *p, pcsc_job_fn job, unsigned timeout_ms)
{
    int r;
    pthread_mutex_lock(&p->lock);
    if (p->state == JOB_DONE)
        p->state = JOB_IDLE; /* a call that timed out earlier has come back meanwhile */
    if (p->state != JOB_IDLE) {
        pthread_mutex_unlock(&p->lock);
        snprintf(p->t->last_error, sizeof p->t->last_error,
                 "reader %.60s is still busy with a command that did not answer in time", p->reader_spec);
        return ENCODER_ERROR_TIMEOUT;
    }
    p->job = job;
    p->err[0] = '\0';
    p->state = JOB_PENDING;
    pthread_cond_broadcast(&p->cond);

    struct timespec until;
    deadline_after(&until, timeout_ms);
    while (p->state != JOB_DONE) {
        int w = pthread_cond_timedwait(&p->cond, &p->lock, &until);
        if (w == ETIMEDOUT && p->state != JOB_DONE)
            break;
    }
    if (p->state == JOB_DONE) {
        r = p->job_result;
        p->state = JOB_IDLE;
        memcpy(p->t->last_error, p->err, sizeof p->t->last_error);
    } else {
        r = ENCODER_ERROR_TIMEOUT;
        snprintf(p->t->last_error, sizeof p->t->last_error, "no answer within %u ms", timeout_ms);
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

/* ---- jobs (run on the worker) ---- */

static int job_establish(struct pcsc *p)
{
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
    if (rv != SCARD_S_SUCCESS)
        return map_rv(p, "cannot reach the PC/SC service (pcscd)", rv);
    p->have_ctx = true;
    return 0;
}

/* The reader named exactly, else the only one whose name starts with the configured text. */
static int resolve_reader(struct pcsc *p)
{
    char names[READER_LIST_MAX];
    DWORD len = sizeof names;
    LONG rv = SCardListReaders(p->ctx, NULL, names, &len);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) {
        snprintf(p->err, sizeof p->err, "no PC/SC reader is attached (looking for '%.64s')", p->reader_spec);
        return ENCODER_ERROR_NO_READER;
    }
    if (rv != SCARD_S_SUCCESS)
        return map_rv(p, "cannot list the readers", rv);
    names[sizeof names - 1] = '\0';
    const char *match = NULL;
    unsigned prefix_matches = 0;
    size_t spec_len = strlen(p->reader_spec);
    for (const char *n = names; *n && n < names + len; n += strlen(n) + 1) {
        if (strcmp(n, p->reader_spec) == 0) {
            match = n;
            prefix_matches = 1;
            break;
        }
        if (strncmp(n, p->reader_spec, spec_len) == 0) {
            match = n;
            prefix_matches++;
        }
    }
    if (!match || prefix_matches != 1) {
        snprintf(p->err, sizeof p->err,
                 prefix_matches > 1 ? "reader name '%.64s' matches several readers"
                                    : "reader '%.64s' not found",
                 p->reader_spec);
        return ENCODER_ERROR_NO_READER;
    }
    snprintf(p->reader, sizeof p->reader, "%.*s", (int)sizeof p->reader - 1, match);
    return 0;
}

static int wait_for_card(struct pcsc *p)
{
    SCARD_READERSTATE rs = {.szReader = p->reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    DWORD timeout = 0;
    for (;;) {
        LONG rv = SCardGetStatusChange(p->ctx, timeout, &rs, 1);
        if (rv == SCARD_E_TIMEOUT) {
            snprintf(p->err, sizeof p->err, "no card in reader %.64s within %u ms", p->reader,
                     p->card_wait_ms);
            return ENCODER_ERROR_NO_CARD;
        }
        if (rv != SCARD_S_SUCCESS)
            return map_rv(p, "cannot watch the reader", rv);
        if (rs.dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE)) {
            snprintf(p->err, sizeof p->err, "reader %.64s is gone", p->reader);
            return ENCODER_ERROR_NO_READER;
        }
        if (rs.dwEventState & SCARD_STATE_MUTE) {
            snprintf(p->err, sizeof p->err, "the card in reader %.64s does not answer the reset (mute)",
                     p->reader);
            return ENCODER_ERROR_TRANSPORT;
        }
        if (rs.dwEventState & SCARD_STATE_PRESENT)
            return 0;
        rs.dwCurrentState = rs.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (long)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (spent >= (long)p->card_wait_ms) {
            snprintf(p->err, sizeof p->err, "no card in reader %.64s within %u ms", p->reader,
                     p->card_wait_ms);
            return ENCODER_ERROR_NO_CARD;
        }
        timeout = (DWORD)((long)p->card_wait_ms - spent);
    }
}

static int read_atr(struct pcsc *p)
{
    char name[ENCODER_READER_NAME_MAX];
    DWORD name_len = sizeof name, state = 0, proto = 0;
    BYTE atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof atr;
    LONG rv = SCardStatus(p->card, name, &name_len, &state, &proto, atr, &atr_len);
    if (rv != SCARD_S_SUCCESS)
        return map_rv(p, "cannot read the card's ATR", rv);
    if (atr_len > sizeof p->atr) {
        snprintf(p->err, sizeof p->err, "ATR longer than %d bytes", ENCODER_ATR_MAX);
        return ENCODER_ERROR_TRANSPORT;
    }
    memcpy(p->atr, atr, atr_len);
    p->atr_len = atr_len;
    p->protocol = proto;
    return 0;
}

static int job_reset(struct pcsc *p)
{
    LONG rv;
    if (p->connected) {
        /* The same card, or a new one in the station: a reset tells, and a new card needs a new handle. */
        DWORD proto = 0;
        rv = SCardReconnect(p->card, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                            SCARD_RESET_CARD, &proto);
        if (rv == SCARD_S_SUCCESS)
            return read_atr(p);
        SCardDisconnect(p->card, SCARD_LEAVE_CARD);
        p->connected = false;
    }
    int r = resolve_reader(p);
    if (r < 0)
        return r;
    if ((r = wait_for_card(p)) < 0)
        return r;
    DWORD proto = 0;
    rv = SCardConnect(p->ctx, p->reader, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                      &p->card, &proto);
    if (rv == SCARD_E_SHARING_VIOLATION) {
        snprintf(p->err, sizeof p->err, "reader %.64s is in use by another program", p->reader);
        return ENCODER_ERROR_TRANSPORT;
    }
    if (rv != SCARD_S_SUCCESS)
        return map_rv(p, "cannot connect to the card", rv);
    p->connected = true;
    return read_atr(p);
}

/* After a failed exchange: whether the card has left the reader. pcscd notices a removal on its next poll of
 * the reader, so wait for a state change a little while (bounded) before concluding the card is still there.
 */
#define REMOVAL_SETTLE_MS 1000
static bool card_gone(struct pcsc *p)
{
    SCARD_READERSTATE rs = {.szReader = p->reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    if (SCardGetStatusChange(p->ctx, 0, &rs, 1) != SCARD_S_SUCCESS)
        return false;
    for (int round = 0; round < 2; round++) {
        if (rs.dwEventState & (SCARD_STATE_EMPTY | SCARD_STATE_UNAVAILABLE | SCARD_STATE_UNKNOWN))
            return true;
        rs.dwCurrentState = rs.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
        LONG rv = SCardGetStatusChange(p->ctx, REMOVAL_SETTLE_MS, &rs, 1);
        if (rv != SCARD_S_SUCCESS)
            return false;
    }
    return (rs.dwEventState & (SCARD_STATE_EMPTY | SCARD_STATE_UNAVAILABLE | SCARD_STATE_UNKNOWN)) != 0;
}

static int job_transmit(struct pcsc *p)
{
    if (!p->connected) {
        snprintf(p->err, sizeof p->err, "no card connected in reader %.64s", p->reader_spec);
        return ENCODER_ERROR_NO_CARD;
    }
    const SCARD_IO_REQUEST *pci = p->protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
    BYTE rx[ENCODER_RESP_MAX];
    DWORD rx_len = sizeof rx;
    LONG rv = SCardTransmit(p->card, pci, p->tx, (DWORD)p->tx_len, NULL, rx, &rx_len);
    if (rv == SCARD_S_SUCCESS && rx_len >= 2) {
        memcpy(p->rx, rx, rx_len);
        p->rx_len = rx_len;
        return 0;
    }
    int r;
    if (rv == SCARD_S_SUCCESS) {
        snprintf(p->err, sizeof p->err, "the card gave no answer (%lu bytes)", (unsigned long)rx_len);
        r = ENCODER_ERROR_TRANSPORT;
    } else {
        r = map_rv(p, "SCardTransmit", rv);
    }
    if (r == ENCODER_ERROR_TRANSPORT && card_gone(p)) {
        /* A card leaving mid-command looks like a communication error first: say what it was. */
        snprintf(p->err, sizeof p->err, "the card was removed during the command");
        r = ENCODER_ERROR_NO_CARD;
    }
    if (r == ENCODER_ERROR_NO_CARD) {
        SCardDisconnect(p->card, SCARD_LEAVE_CARD);
        p->connected = false;
    }
    return r;
}

/* Several commands for one hand-over; stops after the first answer that is not 90 00. */
static int job_transmit_many(struct pcsc *p)
{
    p->batch_done = 0;
    for (size_t i = 0; i < p->batch_n; i++) {
        memcpy(p->tx, p->batch_tx[i], p->batch_tx_len[i]);
        p->tx_len = p->batch_tx_len[i];
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int r = job_transmit(p);
        if (r < 0)
            return r;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        /* the caller waits for the whole batch; each command still has its own limit */
        long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > (long)p->apdu_timeout_ms) {
            snprintf(p->err, sizeof p->err, "no answer within %u ms", p->apdu_timeout_ms);
            return ENCODER_ERROR_TIMEOUT;
        }
        memcpy(p->batch_rx[i], p->rx, p->rx_len);
        p->batch_rx_len[i] = p->rx_len;
        p->batch_done = i + 1;
        if (p->rx[p->rx_len - 2] != 0x90 || p->rx[p->rx_len - 1] != 0x00)
            break;
    }
    return 0;
}

static int job_power_off(struct pcsc *p)
{
    if (!p->connected)
        return 0;
    LONG rv = SCardDisconnect(p->card, SCARD_UNPOWER_CARD);
    p->connected = false;
    if (rv != SCARD_S_SUCCESS && rv != SCARD_W_REMOVED_CARD)
        return map_rv(p, "cannot power the card down", rv);
    return 0;
}

/* ---- transport ops (run on the caller's thread) ---- */

static int pcsc_reset(void *ctx, uint8_t *atr, size_t atr_max, size_t *ret_atr_len)
{
    struct pcsc *p = ctx;
    if (!p || !atr || !ret_atr_len)
        return ENCODER_ERROR_INVALID;
    int r = pcsc_run(p, job_reset, p->card_wait_ms + 2 * p->apdu_timeout_ms);
    if (r < 0)
        return r;
    if (p->atr_len > atr_max)
        return ENCODER_ERROR_INVALID;
    memcpy(atr, p->atr, p->atr_len);
    *ret_atr_len = p->atr_len;
    return 0;
}

static int pcsc_transmit(void *ctx, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t resp_max,
                         size_t *ret_resp_len)
{
    struct pcsc *p = ctx;
    if (!p || !apdu || !resp || !ret_resp_len || apdu_len < 4 || apdu_len > sizeof p->tx)
        return ENCODER_ERROR_INVALID;
    /* The worker is idle here (pcsc_run refuses otherwise), so the buffers are the caller's to fill. */
    pthread_mutex_lock(&p->lock);
    bool idle = p->state == JOB_IDLE || p->state == JOB_DONE;
    if (idle) {
        memcpy(p->tx, apdu, apdu_len);
        p->tx_len = apdu_len;
    }
    pthread_mutex_unlock(&p->lock);
    if (!idle) {
        snprintf(p->t->last_error, sizeof p->t->last_error,
                 "reader %.60s is still busy with a command that did not answer in time", p->reader_spec);
        return ENCODER_ERROR_TIMEOUT;
    }
    int r = pcsc_run(p, job_transmit, p->apdu_timeout_ms);
    if (r < 0)
        return r;
    if (p->rx_len > resp_max)
        return ENCODER_ERROR_TRANSPORT;
    memcpy(resp, p->rx, p->rx_len);
    *ret_resp_len = p->rx_len;
    return 0;
}

static int pcsc_transmit_many(void *ctx, struct encoder_exchange *x, size_t count, size_t *ret_done)
{
    struct pcsc *p = ctx;
    if (!p || !x || !ret_done || count == 0 || count > ENCODER_BATCH_MAX)
        return ENCODER_ERROR_INVALID;
    pthread_mutex_lock(&p->lock);
    bool idle = p->state == JOB_IDLE || p->state == JOB_DONE;
    if (idle) {
        for (size_t i = 0; i < count; i++) {
            if (!x[i].apdu || x[i].apdu_len < 4 || x[i].apdu_len > ENCODER_APDU_MAX) {
                pthread_mutex_unlock(&p->lock);
                return ENCODER_ERROR_INVALID;
            }
            memcpy(p->batch_tx[i], x[i].apdu, x[i].apdu_len);
            p->batch_tx_len[i] = x[i].apdu_len;
        }
        p->batch_n = count;
        p->batch_done = 0;
    }
    pthread_mutex_unlock(&p->lock);
    if (!idle) {
        snprintf(p->t->last_error, sizeof p->t->last_error,
                 "reader %.60s is still busy with a command that did not answer in time", p->reader_spec);
        return ENCODER_ERROR_TIMEOUT;
    }
    /* every command keeps its own time limit */
    int r = pcsc_run(p, job_transmit_many, (unsigned)count * p->apdu_timeout_ms);
    size_t done = r == ENCODER_ERROR_TIMEOUT ? 0 : p->batch_done;
    for (size_t i = 0; i < done; i++) {
        memcpy(x[i].resp, p->batch_rx[i], p->batch_rx_len[i]);
        x[i].resp_len = p->batch_rx_len[i];
    }
    *ret_done = done;
    return r;
}

static int pcsc_power_off(void *ctx)
{
    struct pcsc *p = ctx;
    if (!p)
        return ENCODER_ERROR_INVALID;
    return pcsc_run(p, job_power_off, p->apdu_timeout_ms);
}

static void pcsc_close(void *ctx)
{
    struct pcsc *p = ctx;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    if (p->state == JOB_PENDING || p->state == JOB_RUNNING) {
        /* Stuck in PC/SC: the worker cleans up when the call returns. */
        p->orphaned = true;
        pthread_mutex_unlock(&p->lock);
        pthread_detach(p->thread);
        return;
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pcsc_destroy(p);
}

static const struct encoder_transport_ops pcsc_ops = {
    .reset = pcsc_reset,
    .transmit = pcsc_transmit,
    .close = pcsc_close,
    .power_off = pcsc_power_off,
    .transmit_many = pcsc_transmit_many,
};

static struct pcsc *pcsc_new(void)
{
    struct pcsc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        free(p);
        return NULL;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int r = pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (r != 0) {
        free(p);
        return NULL;
    }
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        pthread_cond_destroy(&p->cond);
        free(p);
        return NULL;
    }
    if (pthread_create(&p->thread, NULL, pcsc_worker, p) != 0) {
        pcsc_destroy(p);
        return NULL;
    }
    return p;
}

int encoder_open_pcsc(const struct encoder_pcsc_config *cfg, struct encoder_transport **ret)
{
    if (!cfg || !ret || !cfg->reader || !cfg->reader[0] || strlen(cfg->reader) >= ENCODER_READER_NAME_MAX)
        return ENCODER_ERROR_INVALID;
    struct encoder_transport *t = calloc(1, sizeof *t);
    if (!t)
        return ENCODER_ERROR_NOMEM;
    struct pcsc *p = pcsc_new();
    if (!p) {
        free(t);
        return ENCODER_ERROR_NOMEM;
    }
    p->t = t;
    snprintf(p->reader_spec, sizeof p->reader_spec, "%s", cfg->reader);
    p->card_wait_ms = cfg->card_wait_ms ? cfg->card_wait_ms : DEFAULT_CARD_WAIT_MS;
    p->apdu_timeout_ms = cfg->apdu_timeout_ms ? cfg->apdu_timeout_ms : DEFAULT_APDU_TIMEOUT;
    t->ops = &pcsc_ops;
    t->ctx = p;
    snprintf(t->name, sizeof t->name, "pcsc:%.58s", cfg->reader);

    int r = pcsc_run(p, job_establish, ESTABLISH_TIMEOUT_MS);
    if (r < 0) {
        encoder_transport_close(t);
        return r;
    }
    *ret = t;
    return 0;
}

int encoder_open_spec(const char *spec, const struct encoder_sim_config *sim, struct encoder_transport **ret)
{
    if (!spec || !ret)
        return ENCODER_ERROR_INVALID;
    if (strcmp(spec, "sim") == 0)
        return sim ? encoder_open_sim(sim, ret) : ENCODER_ERROR_INVALID;
    if (strncmp(spec, "pcsc:", 5) == 0) {
        struct encoder_pcsc_config cfg = {.reader = spec + 5};
        return encoder_open_pcsc(&cfg, ret);
    }
    return ENCODER_ERROR_INVALID;
}

int encoder_pcsc_list_readers(struct encoder_reader_info *readers, size_t max, size_t *ret_count)
{
    if (!ret_count || (max && !readers))
        return ENCODER_ERROR_INVALID;
    SCARDCONTEXT ctx;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS)
        return rv == SCARD_E_NO_SERVICE ? ENCODER_ERROR_NO_READER : ENCODER_ERROR_TRANSPORT;
    char names[READER_LIST_MAX];
    DWORD len = sizeof names;
    rv = SCardListReaders(ctx, NULL, names, &len);
    int r = 0;
    size_t n = 0;
    if (rv == SCARD_E_NO_READERS_AVAILABLE) {
        len = 0;
    } else if (rv != SCARD_S_SUCCESS) {
        r = ENCODER_ERROR_TRANSPORT;
        len = 0;
    }
    if (len)
        names[sizeof names - 1] = '\0';
    for (const char *name = names; len && *name && name < names + len; name += strlen(name) + 1, n++) {
        if (n >= max)
            continue;
        struct encoder_reader_info *ri = &readers[n];
        memset(ri, 0, sizeof *ri);
        snprintf(ri->name, sizeof ri->name, "%.*s", (int)sizeof ri->name - 1, name);
        SCARD_READERSTATE rs = {.szReader = name, .dwCurrentState = SCARD_STATE_UNAWARE};
        if (SCardGetStatusChange(ctx, 0, &rs, 1) == SCARD_S_SUCCESS &&
            (rs.dwEventState & SCARD_STATE_PRESENT)) {
            ri->card_present = 1;
            if (rs.cbAtr > 0 && rs.cbAtr <= ENCODER_ATR_MAX)
                encoder_hex(rs.rgbAtr, rs.cbAtr, ri->atr_hex, sizeof ri->atr_hex);
        }
    }
    SCardReleaseContext(ctx);
    if (r == 0)
        *ret_count = n;
    return r;
}
