/* controller.c — one production line per thread: start-up, devices, signals, LISTEN wake-ups, the heartbeat
 * that keeps leases alive and the rescuer that returns abandoned work to the queue */
#include "line/line-private.h"
#include "base/fileio.h"
#include "base/i18n.h"

#include "base/log.h"
#include "store/bank_data.h"
#include "store/production.h"
#include "store/queue.h"
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define IDLE_WAIT_MS 1000
/* how many failed statements or reconnections a line rides out while registering (about a second each) */
#define REGISTER_DB_TRIES 60
/* how long (seconds, about) a starting controller waits for a database that does not answer */
#define STARTUP_DB_TRIES 60

/* set by SIGINT/SIGTERM: a signal handler can reach nothing but a global */
static atomic_bool stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static bool cfg_done(struct controller *ctl)
{
    return ctl->cfg->max_cards > 0 && atomic_load(&ctl->cards_done) >= ctl->cfg->max_cards;
}

/* LISTEN is only a hint to wake early; the timeout makes us poll anyway. */
static void idle_wait(PGconn *conn)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    PGnotify *n;

    if (pfd.fd >= 0 && poll(&pfd, 1, IDLE_WAIT_MS) > 0)
        PQconsumeInput(conn);
    while ((n = PQnotifies(conn)))
        PQfreemem(n);
}

static void *line_main(void *arg)
{
    struct line *l = arg;
    struct controller *ctl = l->ctl;
    enum printer_disposition disp;
    char cause[160];
    int backoff_ms = 100;

    /* what a line writes into the database (a held application's reason, events) and its log stay in the
     * source's English whatever language the operator reads: the rules' reasons are marked for translation
     * because the import prints them to a person */
    i18n_set(I18N_EN);
    line_render_worker_start(l);
    /* after a crash a card may still be inside: it goes to the reject box before anything else */
    if (printer_purge(l->printer, &disp, cause) < 0)
        log_warn(l->id, "purge at start-up: %s", cause);
    store_work_listen(l->conn);

    while (!atomic_load(&stop_requested) && !cfg_done(ctl)) {
        int r = line_work_one(l);

        if (r < 0) {
            /* the database went away or refused: back off (100 ms doubling to 5 s) and reconnect */
            if (PQstatus(l->conn) == CONNECTION_BAD) {
                log_warn(l->id, "database connection lost; reconnecting in %d ms", backoff_ms);
                nanosleep(&(struct timespec){.tv_sec = backoff_ms / 1000,
                                             .tv_nsec = (long)(backoff_ms % 1000) * 1000000L},
                          NULL);
                PQreset(l->conn);
                if (PQstatus(l->conn) == CONNECTION_OK) {
                    store_work_listen(l->conn);
                    log_info(l->id, "database connection back");
                }
            } else {
                log_error(l->id, "claim failed: %s", PQerrorMessage(l->conn));
                idle_wait(l->conn);
            }
            backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
            continue;
        }
        backoff_ms = 100;
        if (r == LINE_NEXT_IDLE) {
            if (ctl->cfg->until_empty && !l->store->work_left(l->store_ctx))
                break;
            idle_wait(l->conn);
            continue;
        }
        if (r == LINE_NEXT_STOP)
            break;
    }

    store_production_stop_line(l->conn, l->id);
    line_render_worker_stop(l);
    pthread_mutex_lock(&ctl->lock);
    ctl->lines_running--;
    pthread_cond_broadcast(&ctl->cond);
    pthread_mutex_unlock(&ctl->lock);
    return NULL;
}

/* Return abandoned work to the queue; logged here, once. */
static void rescue(PGconn *conn, const char *actor)
{
    int n = store_queue_rescue_expired(conn, actor);

    if (n < 0)
        log_error("rescue", "rescue failed: %s", PQerrorMessage(conn));
    else if (n > 0)
        log_warn("rescue", "returned %d application(s) with expired leases to the queue", n);
}

static int heartbeat(PGconn *conn, const struct controller *ctl, const struct line *lines, int n)
{
    int64_t ids[64];
    size_t k = 0;

    for (int i = 0; i < n && k < sizeof(ids) / sizeof(ids[0]); i++) {
        int64_t id = atomic_load(&lines[i].in_hand);
        if (id > 0)
            ids[k++] = id;
    }
    return store_queue_heartbeat(conn, ctl->id, ctl->cfg->lease_seconds, ids, k);
}

/* A database session at start-up. The server may be restarting just then (a failover, an administrator), so a
 * controller waits for it a while, as its running lines would, instead of failing. open: also start the
 * private cluster and apply migrations. */
static PGconn *connect_patiently(const struct db_config *db, bool open)
{
    for (int tries = 0;; tries++) {
        PGconn *c = open ? producer_db_open(db) : producer_db_connect(db);
        if (c || tries >= STARTUP_DB_TRIES || atomic_load(&stop_requested))
            return c;
        log_warn("run", "database not reachable at start-up; trying again in 1 s");
        sleep(1);
    }
}

/* Take the line rows for this controller; a line another live controller runs is refused. */
static int register_line(PGconn *conn, struct line *l)
{
    int waited = 0, db_failures = 0;

    for (;;) {
        int r;

        /* a session lost while starting (the server restarted, an administrator ended it) is reopened */
        if (PQstatus(conn) == CONNECTION_BAD) {
            PQreset(conn);
            if (PQstatus(conn) != CONNECTION_OK) {
                if (++db_failures > REGISTER_DB_TRIES || atomic_load(&stop_requested)) {
                    log_error(l->id, "cannot register the line: the database is unreachable: %s",
                              PQerrorMessage(conn));
                    return PRODUCER_ERROR_DB;
                }
                sleep(1);
                continue;
            }
        }
        r = store_production_register_line(conn, l->id, l->ctl->id, printer_name(l->printer), l->encoder_spec,
                                           l->ctl->cfg->lease_seconds);
        if (r < 0) {
            /* a failed statement says nothing about other controllers: retry, reconnecting when needed */
            log_warn(l->id, "register line: %s", PQerrorMessage(conn));
            if (++db_failures > REGISTER_DB_TRIES || atomic_load(&stop_requested)) {
                log_error(l->id, "cannot register the line: the database keeps failing");
                return PRODUCER_ERROR_DB;
            }
            sleep(1);
            continue;
        }
        if (r == 1)
            return 0;
        if (waited++ >= l->ctl->cfg->lease_seconds * 2 || atomic_load(&stop_requested)) {
            log_error(l->id,
                      "line %s is run by another live controller; choose other line names (--line-prefix)",
                      l->id);
            return PRODUCER_ERROR_INVALID;
        }
        sleep(1); /* the other controller's heartbeat must go stale first */
    }
}

static int read_settings(PGconn *conn, struct controller *ctl)
{
    struct store_line_settings s;
    int r = store_production_settings(conn, &s);

    if (r < 0)
        return r;
    snprintf(ctl->card_prefix, sizeof(ctl->card_prefix), "%s", s.card_prefix);
    ctl->max_attempts = s.max_attempts;
    snprintf(ctl->region, sizeof(ctl->region), "%s", s.region);
    /* the configuration the lines run under says whether cards carry the bank's application */
    if (ctl->cfg->config && ctl->cfg->config->bank_application[0] &&
        store_bank_data_set_required(conn, ctl->cfg->config->bank_application) < 0)
        return PRODUCER_ERROR_DB;
    r = store_bank_data_required(conn);
    if (r < 0)
        return r;
    ctl->bank_required = r == 1;
    /* the bank's data is encrypted under transport keys only the issuer's key service derives: a key made for
     * this run would spoil every card at the bank step (counter lines make temporary cards, carrying none) */
    bool bank_cards = !ctl->cfg->config;
    for (int i = 0; ctl->cfg->config && i < ctl->cfg->config->nlines; i++)
        bank_cards |= !ctl->cfg->config->lines[i].counter;
    if (ctl->bank_required && bank_cards && !(ctl->cfg->key_service && *ctl->cfg->key_service) &&
        !(ctl->cfg->config && ctl->cfg->config->key_service[0])) {
        log_error("run",
                  "the bank application is required (setting bank_application) but no key service is "
                  "configured: set key_service (soft:<key file> or psam:<reader>) or bank_application off");
        return PRODUCER_ERROR_INPUT;
    }
    return 0;
}

static void line_free(struct line *l)
{
    printer_close(l->printer);
    encoder_transport_close(l->encoder);
    PQfinish(l->conn);
}

/* Everything a controller holds for its lines: identity, settings, layout, photo rules, keys. On failure the
 * cause is logged and controller_done() releases what was set up. */
static int controller_init(struct controller *ctl, PGconn *conn, const struct db_config *db,
                           const struct producer_run_config *cfg)
{
    char host[64] = "host", why[256] = "";
    const char *profile = cfg->config ? cfg->config->photo_profile : NULL;
    const char *keys =
        cfg->config && cfg->config->key_service[0] ? cfg->config->key_service : cfg->key_service;
    uint32_t nonce = 0;
    int r;

    memset(ctl, 0, sizeof(*ctl));
    ctl->db = db;
    ctl->cfg = cfg;
    pthread_mutex_init(&ctl->lock, NULL);
    pthread_cond_init(&ctl->cond, NULL);
    gethostname(host, sizeof(host) - 1);
    if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce) ||
        getrandom(ctl->master_key, sizeof(ctl->master_key), 0) != sizeof(ctl->master_key)) {
        log_error("run", "no randomness available");
        return PRODUCER_ERROR_IO;
    }
    snprintf(ctl->id, sizeof(ctl->id), "%s:%ld:%08x", host, (long)getpid(), nonce);
    snprintf(ctl->faces_dir, sizeof(ctl->faces_dir), "%s/faces", db->data_dir);
    r = producer_private_dir(ctl->faces_dir);
    if (r < 0) {
        log_error("run", "cannot create %s: %s", ctl->faces_dir, strerror(-r));
        return PRODUCER_ERROR_IO;
    }
    r = read_settings(conn, ctl);
    if (r < 0)
        return r == PRODUCER_ERROR_INPUT ? r : PRODUCER_ERROR_DB;
    if (printer_layout_load(NULL, &ctl->layout, why, sizeof(why)) < 0) {
        log_error("run", "%s", why);
        return PRODUCER_ERROR_INPUT;
    }
    r = photo_checker_new(NULL, &ctl->photo_checker);
    if (r < 0) {
        log_error("run", "photo checker: %s", photo_strerror(r));
        return r;
    }
    if (photo_profile_find(profile, &ctl->photo_profile, why, sizeof(why)) < 0) {
        log_error("run", "photo profile: %s", why);
        return PRODUCER_ERROR_INPUT;
    }
    /* the issuer's keys: a PSAM or key file when configured; otherwise a key made for this run, which only
     * the simulated cards of this run know */
    r = keys && *keys ? encoder_key_service_open_spec(keys, &ctl->keys)
                      : encoder_key_service_soft_new(ctl->master_key, &ctl->keys);
    /* simulated cards stand for the issuer's stock: with a soft key file they were "made" with its root,
     * which the bank's data preparation also derives its transport keys from */
    if (r == 0 && keys && strncmp(keys, "soft:", 5) == 0 && encoder_key_file_read(keys + 5, ctl->master_key) < 0) {
        log_error("run", "cannot read the key file %s", keys + 5);
        return PRODUCER_ERROR_INPUT;
    }
    if (r < 0) {
        /* "key service failure" alone sends an operator nowhere: say what is wrong with the file */
        if (keys && *keys && encoder_key_service_explain(keys, why, sizeof(why)) < 0)
            log_error("run", "cannot open the key service: %s", why);
        else
            log_error("run", "cannot open the key service '%s': %s", keys ? keys : "per-run",
                      encoder_strerror(r));
        return r;
    }
    if (cfg->config) {
        for (int i = 0; i < cfg->config->natr; i++) {
            size_t o = strlen(ctl->atr_allow);
            snprintf(ctl->atr_allow + o, sizeof(ctl->atr_allow) - o, "%s%s", o ? "," : "",
                     cfg->config->atr_allow[i]);
        }
    }
    return 0;
}

static void controller_done(struct controller *ctl)
{
    explicit_bzero(ctl->master_key, sizeof(ctl->master_key));
    encoder_key_service_free(ctl->keys);
    photo_checker_free(ctl->photo_checker);
    printer_layout_free(ctl->layout);
    pthread_mutex_destroy(&ctl->lock);
    pthread_cond_destroy(&ctl->cond);
}

/* Open line i's session and devices and register it. Returns 0 or a negative error (logged). */
static int line_open(struct controller *ctl, struct line *l, int i)
{
    const struct producer_run_config *cfg = ctl->cfg;
    struct printer_sim_config pc = {.output_dir = cfg->no_faces ? NULL : ctl->faces_dir,
                                    .card_ms = cfg->card_ms,
                                    .fault_permille = cfg->print_fault_permille,
                                    .seed = cfg->seed * 7919u + (unsigned)i};
    struct encoder_sim_config ec = {.fault_permille = cfg->chip_fault_permille,
                                    .scp02_fault_permille = cfg->scp02_fault_permille,
                                    .seed = cfg->seed * 104729u + (unsigned)i,
                                    .card_ms = cfg->card_ms};
    int r;

    memcpy(ec.master_key, ctl->master_key, sizeof(ec.master_key));
    l->ctl = ctl;
    l->index = i;
    if (cfg->config) {
        const struct producer_line_config *lc = &cfg->config->lines[i];
        snprintf(l->id, sizeof(l->id), "%s", lc->id);
        l->printer_spec = lc->printer;
        l->encoder_spec = lc->encoder;
        l->counter = lc->counter;
    } else {
        snprintf(l->id, sizeof(l->id), "%s%d", cfg->line_prefix ? cfg->line_prefix : "L", i + 1);
        l->printer_spec = cfg->printer_spec ? cfg->printer_spec : "sim";
        l->encoder_spec = cfg->encoder_spec ? cfg->encoder_spec : "sim";
    }
    l->conn = connect_patiently(ctl->db, false);
    store_queue_claimer_init(&l->claimer, l->conn, ctl->id, cfg->lease_seconds);
    l->claimer.counter = l->counter;
    l->store = &line_store_pg;
    l->store_ctx = &l->claimer;
    l->personalize = encoder_personalize;
    if (!l->conn)
        return PRODUCER_ERROR_DB;
    r = printer_open_spec(l->printer_spec, &pc, &l->printer);
    if (r < 0) {
        log_error("run", "line %s: cannot open printer '%s': %s", l->id, l->printer_spec,
                  printer_strerror(r));
        return r;
    }
    r = encoder_open_spec(l->encoder_spec, &ec, &l->encoder);
    if (r < 0) {
        log_error("run", "line %s: cannot open chip encoder '%s': %s", l->id, l->encoder_spec,
                  encoder_strerror(r));
        return r;
    }
    if (ctl->atr_allow[0] && strcmp(l->encoder_spec, "sim") != 0) {
        char why[192] = "";
        r = encoder_transport_set_atr_allowlist(l->encoder, ctl->atr_allow, why, sizeof(why));
        if (r < 0) {
            log_error("run", "line %s: ATR allow-list: %s", l->id, why);
            return r;
        }
    }
    return 0;
}

int producer_run(const struct db_config *db, const struct producer_run_config *cfg)
{
    int nlines = cfg->config ? cfg->config->nlines : cfg->lines;
    struct controller ctl;
    struct line *lines = NULL;
    pthread_t *threads = NULL;
    PGconn *conn;
    int started = 0, r = 0, total_good = 0, total_spoiled = 0, total_held = 0;
    int64_t busy_ns = 0, working_ns = 0;
    struct rusage ru;
    struct sigaction sa = {.sa_handler = on_signal};

    if (nlines < 1 || nlines > 64 || cfg->lease_seconds < 2) {
        log_error("run", "--lines must be 1..64 and --lease-seconds at least 2");
        return PRODUCER_ERROR_INVALID;
    }
    conn = connect_patiently(db, true);
    if (!conn)
        return PRODUCER_ERROR_DB;

    for (int tries = 0;; tries++) {
        r = controller_init(&ctl, conn, db, cfg);
        if (r != PRODUCER_ERROR_DB || tries >= STARTUP_DB_TRIES)
            break;
        /* the database went away while we read the settings: wait for it, as the lines would */
        controller_done(&ctl);
        log_warn("run", "database not answering at start-up; trying again in 1 s");
        sleep(1);
        if (PQstatus(conn) == CONNECTION_BAD)
            PQreset(conn);
    }
    if (r < 0) {
        if (r == PRODUCER_ERROR_DB)
            log_error("run", "reading the settings: %s", PQerrorMessage(conn));
        controller_done(&ctl);
        PQfinish(conn);
        return r;
    }
    atomic_store(&stop_requested, false);
    atomic_store(&ctl.cards_done, 0);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    lines = calloc((size_t)nlines, sizeof(*lines));
    threads = calloc((size_t)nlines, sizeof(*threads));
    if (!lines || !threads) {
        r = PRODUCER_ERROR_NOMEM;
        goto out;
    }
    rescue(conn, ctl.id);
    for (int i = 0; i < nlines; i++) {
        r = line_open(&ctl, &lines[i], i);
        if (r < 0)
            goto out;
        r = register_line(conn, &lines[i]);
        if (r < 0)
            goto out;
    }

    log_info("run", "controller %s starting %d line(s)", ctl.id, nlines);
    /* under systemd (Type=notify) the unit is up once the lines are registered; elsewhere a no-op */
    sd_notify(0, "READY=1");
    for (int i = 0; i < nlines; i++) {
        pthread_mutex_lock(&ctl.lock);
        ctl.lines_running++;
        pthread_mutex_unlock(&ctl.lock);
        if (pthread_create(&threads[i], NULL, line_main, &lines[i]) != 0) {
            pthread_mutex_lock(&ctl.lock);
            ctl.lines_running--;
            pthread_mutex_unlock(&ctl.lock);
            atomic_store(&stop_requested, true);
            r = PRODUCER_ERROR_IO;
            break;
        }
        started++;
    }

    /* the main thread keeps the leases alive and rescues abandoned work until every line has stopped */
    pthread_mutex_lock(&ctl.lock);
    while (ctl.lines_running > 0) {
        struct timespec until;
        int interval_ms = cfg->lease_seconds * 1000 / 3;
        uint64_t watchdog_us = 0;

        /* the watchdog is fed from this loop, so it must turn at least twice per WatchdogSec */
        if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us / 2000 < (uint64_t)interval_ms)
            interval_ms = watchdog_us / 2000 > 0 ? (int)(watchdog_us / 2000) : 1;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += interval_ms / 1000;
        until.tv_nsec += (long)(interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ctl.cond, &ctl.lock, &until);
        if (ctl.lines_running == 0)
            break;
        pthread_mutex_unlock(&ctl.lock);
        if (PQstatus(conn) == CONNECTION_BAD)
            PQreset(conn);
        if (heartbeat(conn, &ctl, lines, nlines) < 0 && PQstatus(conn) == CONNECTION_BAD)
            log_warn("run", "heartbeat failed: database unreachable; leases may run out");
        rescue(conn, ctl.id);
        /* a turn of this loop proves the controller is not stuck; a database outage is ridden out, not a
         * reason for systemd to restart us */
        sd_notify(0, "WATCHDOG=1");
        pthread_mutex_lock(&ctl.lock);
    }
    pthread_mutex_unlock(&ctl.lock);

out:
    sd_notify(0, "STOPPING=1");
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (lines) {
        for (int i = 0; i < nlines; i++) {
            total_good += lines[i].good;
            total_spoiled += lines[i].spoiled;
            total_held += lines[i].held;
            busy_ns += lines[i].busy_ns;
            working_ns += lines[i].last_work_ns - lines[i].first_work_ns;
            line_free(&lines[i]);
        }
    }
    free(lines);
    free(threads);
    log_info("run", "controller %s stopped: %d good, %d spoiled, %d held", ctl.id, total_good, total_spoiled,
             total_held);
    getrusage(RUSAGE_SELF, &ru);
    if (total_good + total_spoiled > 0 && working_ns > 0)
        log_info("run",
                 "line utilisation %.1f%% (time in device operations over the time each line had work); "
                 "controller CPU %.2f ms per card",
                 100.0 * (double)busy_ns / (double)working_ns,
                 ((double)ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
                  (double)ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3) /
                     (total_good + total_spoiled));
    PQfinish(conn);
    controller_done(&ctl);
    return r;
}
