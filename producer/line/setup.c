/* setup.c — the bureau's configuration into the database: its outlets and its lines (which then have stock
 * books before they first run), in one transaction */
#include "line/line.h"

#include "base/config.h"
#include "base/log.h"
#include "store/banks.h"
#include "store/outlets.h"
#include "store/settings.h"
#include "store/store.h"

int producer_config_apply(PGconn *conn, const struct producer_config *cfg)
{
    const char *why = NULL;
    int r;

    if (store_begin(conn) < 0)
        return PRODUCER_ERROR_DB;
    for (int i = 0; i < cfg->noutlets; i++) {
        const struct producer_outlet_config *c = &cfg->outlets[i];
        const struct store_outlet o = {.code = c->code,
                                       .name = c->name,
                                       .kind = c->kind,
                                       .county = c->county,
                                       .weekdays = c->weekdays,
                                       .transit_days = c->transit_days};

        r = store_outlets_put(conn, &o, STORE_OUTLET_UPDATE, &why);
        if (r < 0) {
            log_error("config", "outlet %s: %s", c->code,
                      why ? "a field is out of range (kind hrss|bank, weekdays 1..7)"
                          : "the database refused it");
            store_rollback(conn);
            return PRODUCER_ERROR_DB;
        }
    }
    /* the configured cooperating banks become the list an application's bank must be in */
    if (cfg->nbanks >= 0) {
        const char *names[CONFIG_MAX_BANKS];
        char source[320];
        int bad_bank = 0;

        for (int i = 0; i < cfg->nbanks; i++)
            names[i] = cfg->banks[i];
        snprintf(source, sizeof(source), "configuration file %s", cfg->source);
        r = store_banks_replace(conn, names, cfg->nbanks, source, &bad_bank);
        if (r < 0) {
            log_error("config", "banks[%d]: %s", bad_bank,
                      r == PRODUCER_ERROR_INPUT ? "the database refused the name" : "the database failed");
            store_rollback(conn);
            return PRODUCER_ERROR_DB;
        }
    }
    /* the configured lines are in the books from now on: blanks can be issued to them before they first run
     */
    for (int i = 0; i < cfg->nlines; i++) {
        if (store_settings_line(conn, cfg->lines[i].id) < 0) {
            log_error("config", "line %s could not be added to the books", cfg->lines[i].id);
            store_rollback(conn);
            return PRODUCER_ERROR_DB;
        }
    }
    if (store_event(conn, "config", "config_applied", NULL, NULL, NULL, NULL) < 0 || store_commit(conn) < 0) {
        store_rollback(conn);
        return PRODUCER_ERROR_DB;
    }
    return cfg->noutlets;
}
