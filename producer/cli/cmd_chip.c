/* cmd_chip.c — `cardline chip`: read a card's social security chip in a PC/SC reader (masked unless asked),
 * and personalise one card at a counter from its application */
#include "cli/cli.h"
#include "line/line.h"
#include "store/production.h"
#include "store/store.h"
#include "base/config.h"
#include "base/i18n.h"
#include "encoder.h"
#include "base/log.h"
#include "producer.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHIP "chip"

/* The usage of `chip SUB` (argv[0] of a subcommand's arguments), on standard output when asked for. */
static int usage_error(const char *sub, bool help)
{
    if (!help)
        return cli_usage_error("chip", sub);
    cli_usage_print(stdout, "chip", sub);
    return 0;
}

/* The reader to use: the one named, else the only one holding a card. */
static int pick_reader(const char *want, char *out, size_t out_size)
{
    if (want) {
        snprintf(out, out_size, "%s", want);
        return 0;
    }
    struct encoder_reader_info readers[16];
    size_t n = 0;
    int r = encoder_pcsc_list_readers(readers, 16, &n);
    if (r < 0) {
        log_error(CHIP, "cannot list the readers: %s", encoder_strerror(r));
        return r;
    }
    const char *found = NULL;
    int with_card = 0;
    for (size_t i = 0; i < n && i < 16; i++) {
        if (readers[i].card_present) {
            found = readers[i].name;
            with_card++;
        }
    }
    if (with_card != 1) {
        log_error(CHIP, "%s; name the reader with --reader (see cardline chip readers)",
                  with_card ? "several readers hold a card" : "no reader holds a card");
        return ENCODER_ERROR_NO_CARD;
    }
    snprintf(out, out_size, "%.*s", ENCODER_READER_NAME_MAX - 1, found);
    return 0;
}

static int open_station(const char *reader, const char *atr_allow, struct encoder_transport **ret)
{
    struct encoder_pcsc_config pc = {.reader = reader};
    struct encoder_transport *t = NULL;
    int r = encoder_open_pcsc(&pc, &t);
    if (r < 0) {
        log_error(CHIP, "cannot open reader '%s': %s", reader, encoder_strerror(r));
        return r;
    }
    if (atr_allow && *atr_allow) {
        char cause[160] = "";
        r = encoder_transport_set_atr_allowlist(t, atr_allow, cause, sizeof(cause));
        if (r < 0) {
            log_error(CHIP, "%s", cause[0] ? cause : encoder_strerror(r));
            encoder_transport_close(t);
            return r;
        }
    }
    *ret = t;
    return 0;
}

/* YYYYMMDD -> YYYY-MM-DD ("" stays ""). */
static void iso_date(const char *d, char *out, size_t out_size)
{
    if (strlen(d) == 8)
        snprintf(out, out_size, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
    else
        snprintf(out, out_size, "%s", d);
}

static void print_card(const char *reader, const struct encoder_card_info *ci, bool json, bool unmasked)
{
    char ssn[24], name[300], birth[16], issue[16], expiry[16];
    if (unmasked) {
        snprintf(ssn, sizeof(ssn), "%s", ci->ssn);
        snprintf(name, sizeof(name), "%s", ci->name);
        iso_date(ci->birth_date, birth, sizeof(birth));
    } else {
        producer_mask_doc(ci->ssn, ssn, sizeof(ssn));
        producer_mask_name(ci->name, name, sizeof(name));
        /* the year only: the full date with the masked number would still single a person out */
        snprintf(birth, sizeof(birth), "%s", strlen(ci->birth_date) == 8 ? ci->birth_date : "");
        if (birth[0])
            snprintf(birth + 4, sizeof(birth) - 4, "-**-**");
    }
    iso_date(ci->issue_date, issue, sizeof(issue));
    iso_date(ci->expiry_date, expiry, sizeof(expiry));

    if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "reader", json_object_new_string(reader));
        json_object_object_add(o, "atr", json_object_new_string(ci->atr_hex));
        json_object_object_add(o, "card_id", json_object_new_string(ci->card_id_hex));
        json_object_object_add(o, "card_type", json_object_new_string(ci->card_type));
        json_object_object_add(o, "spec_version", json_object_new_string(ci->spec_version));
        json_object_object_add(o, "issuer", json_object_new_string(ci->issuer));
        json_object_object_add(o, "issue_date", json_object_new_string(issue));
        json_object_object_add(o, "expiry_date", json_object_new_string(expiry));
        json_object_object_add(o, "card_number", json_object_new_string(ci->card_number));
        json_object_object_add(o, "ssn", json_object_new_string(ssn));
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "sex", json_object_new_string(ci->sex));
        json_object_object_add(o, "ethnicity", json_object_new_string(ci->ethnicity));
        json_object_object_add(o, "birth_place", json_object_new_string(ci->birth_place));
        json_object_object_add(o, "birth_date", json_object_new_string(birth));
        json_object_object_add(o, "masked", json_object_new_boolean(!unmasked));
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return;
    }
    const char *sex = strcmp(ci->sex, "1") == 0   ? _(" (male)")
                      : strcmp(ci->sex, "2") == 0 ? _(" (female)")
                                                  : "";
    printf(_("reader        %s\n"), reader);
    printf(_("ATR           %s\n"), ci->atr_hex);
    printf(_("card id       %s\n"), ci->card_id_hex);
    printf(_("card type     %s\n"), ci->card_type);
    printf(_("spec version  %s\n"), ci->spec_version);
    printf(_("issuer        %s\n"), ci->issuer);
    printf(_("issue date    %s\n"), issue);
    printf(_("expiry date   %s\n"), expiry);
    printf(_("card number   %s\n"), ci->card_number);
    printf(_("SSN           %s\n"), ssn);
    printf(_("name          %s\n"), name);
    printf(_("sex           %s%s\n"), ci->sex, sex);
    printf(_("ethnicity     %s\n"), ci->ethnicity);
    printf(_("birth place   %s\n"), ci->birth_place);
    printf(_("birth date    %s\n"), birth);
}

static int chip_read(int argc, char **argv)
{
    static const struct option opts[] = {{"reader", required_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"unmasked", no_argument, NULL, 'u'},
                                         {"atr-allow", required_argument, NULL, 'a'},
                                         {"key-service", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *reader = NULL, *atr_allow = NULL, *ks_spec = NULL;
    bool json = false, unmasked = false;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            reader = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'u':
            unmasked = true;
            break;
        case 'a':
            atr_allow = optarg;
            break;
        case 'k':
            ks_spec = optarg;
            break;
        case 'h':
            return usage_error(argv[0], true);
        default:
            return usage_error(argv[0], false);
        }
    }
    if (optind != argc)
        return usage_error(argv[0], false);

    char name[ENCODER_READER_NAME_MAX];
    if (pick_reader(reader, name, sizeof(name)) < 0)
        return 1;
    /* third-generation cards show the holder's data only after RKSSSE authentication */
    struct encoder_key_service *ks = NULL;
    int r = ks_spec ? encoder_key_service_open_spec(ks_spec, &ks) : 0;
    if (r < 0) {
        log_error(CHIP, "key service '%s': %s", ks_spec, encoder_strerror(r));
        return 1;
    }
    struct encoder_transport *t = NULL;
    if (open_station(name, atr_allow, &t) < 0) {
        encoder_key_service_free(ks);
        return 1;
    }
    struct encoder_card_info ci;
    r = encoder_read_card_keys(t, ks, &ci);
    encoder_transport_close(t);
    encoder_key_service_free(ks);
    if (r < 0) {
        log_error(CHIP, "reader %s: %s", name, ci.cause[0] ? ci.cause : encoder_strerror(r));
        return 1;
    }
    print_card(name, &ci, json, unmasked);
    return 0;
}

static int chip_readers(void)
{
    struct encoder_reader_info readers[32];
    size_t n = 0;
    int r = encoder_pcsc_list_readers(readers, 32, &n);
    if (r < 0) {
        log_error(CHIP, "cannot list the readers: %s", encoder_strerror(r));
        return 1;
    }
    for (size_t i = 0; i < n && i < 32; i++)
        printf("%-40s %s\n", readers[i].name, readers[i].card_present ? readers[i].atr_hex : _("(empty)"));
    if (n == 0)
        printf(_("no PC/SC readers\n"));
    return 0;
}

/* The application, its card and the bureau settings, as the chip needs them. */
struct counter_job {
    char app_id[24];
    char card_number[10];
    char card_status[16];
    bool leased;
    struct encoder_card_data data;
    char name[256];
};

static int load_job(PGconn *conn, const char *app, const char *card, struct counter_job *job, char *why,
                    size_t why_size)
{
    struct store_chip_row row;
    struct line_card_source src;
    int r = store_production_chip_row(conn, app, card, &row);

    if (r == PRODUCER_ERROR_NOT_FOUND) {
        snprintf(why, why_size, "no application '%s'", app);
        return r;
    }
    if (r < 0) {
        snprintf(why, why_size, "database: %s", PQerrorMessage(conn));
        return r;
    }
    if (!row.has_card) {
        if (card)
            snprintf(why, why_size, "card %s does not belong to application %s", card, app);
        else
            snprintf(why, why_size,
                     "application %s has no card number yet; numbers are allocated by a production line "
                     "(this command allocates nothing)",
                     app);
        return PRODUCER_ERROR_NOT_FOUND;
    }
    memset(job, 0, sizeof(*job));
    snprintf(job->app_id, sizeof(job->app_id), "%s", row.app_id);
    job->leased = row.leased;
    snprintf(job->name, sizeof(job->name), "%s", row.name);
    snprintf(job->card_number, sizeof(job->card_number), "%s", row.card_number);
    snprintf(job->card_status, sizeof(job->card_status), "%s", row.card_status);
    /* what the chip gets is what a line would write */
    src = (struct line_card_source){.name = job->name,
                                    .ssn = row.ssn,
                                    .sex = row.sex,
                                    .ethnicity = row.ethnicity,
                                    .birth_place = row.birth_place,
                                    .birth_date = row.birth_date,
                                    .card_number = row.card_number,
                                    .issue_date = row.issue_date,
                                    .expiry_date = row.expiry_date,
                                    .region_code = row.region};
    line_card_chip(&src, &job->data);
    return 0;
}

/* The key service and the ATR allow-list of a counter command: from the configuration file, overridden by the
 * command's own options. Returns 0, 1 (the configuration is bad) or EXIT_USAGE (no key service at all). */
static int counter_keys(const char *config, const char *ks_spec, const char *atr_opt, char *ks_buf,
                        size_t ks_size, char *atr_allow, size_t atr_size)
{
    if (config) {
        struct producer_config *cfg = NULL;
        char err[256];
        if (producer_config_load(config, &cfg, err, sizeof(err)) < 0) {
            log_error(CHIP, "%s", err);
            return 1;
        }
        snprintf(ks_buf, ks_size, "%s", cfg->key_service);
        for (int i = 0; i < cfg->natr; i++) {
            size_t used = strlen(atr_allow);
            snprintf(atr_allow + used, atr_size - used, "%s%s", i ? "," : "", cfg->atr_allow[i]);
        }
        producer_config_free(cfg);
    }
    if (ks_spec)
        snprintf(ks_buf, ks_size, "%s", ks_spec);
    if (atr_opt)
        snprintf(atr_allow, atr_size, "%s", atr_opt);
    if (!ks_buf[0]) {
        log_error(CHIP,
                  "no key service: give --key-service soft:<key file> | psam:<reader>, or --config FILE");
        return EXIT_USAGE;
    }
    return 0;
}

static int chip_personalize(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reader", required_argument, NULL, 'r'}, {"application", required_argument, NULL, 'A'},
        {"card", required_argument, NULL, 'c'},   {"key-service", required_argument, NULL, 'k'},
        {"config", required_argument, NULL, 'C'}, {"atr-allow", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *reader = NULL, *app = NULL, *card = NULL, *ks_spec = NULL, *config = NULL, *atr_opt = NULL;
    char atr_allow[CONFIG_MAX_ATRS * (CONFIG_ATR_TEXT_MAX + 1)] = "", ks_buf[512] = "", why[256] = "";
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            reader = optarg;
            break;
        case 'A':
            app = optarg;
            break;
        case 'c':
            card = optarg;
            break;
        case 'k':
            ks_spec = optarg;
            break;
        case 'C':
            config = optarg;
            break;
        case 'a':
            atr_opt = optarg;
            break;
        case 'h':
            return usage_error(argv[0], true);
        default:
            return usage_error(argv[0], false);
        }
    }
    if (optind != argc || !reader || !app)
        return usage_error(argv[0], false);
    int keys_r = counter_keys(config, ks_spec, atr_opt, ks_buf, sizeof(ks_buf), atr_allow, sizeof(atr_allow));
    if (keys_r != 0)
        return keys_r;

    PGconn *conn = cli_open_db(g);
    if (!conn)
        return 1;
    struct counter_job job;
    int status = 1;
    struct encoder_transport *t = NULL;
    struct encoder_key_service *ks = NULL;
    struct encoder_result res;
    char actor[96], detail[512];

    if (load_job(conn, app, card, &job, why, sizeof(why)) < 0) {
        log_error(CHIP, "%s", why);
        goto out;
    }
    if (job.leased) {
        log_error(CHIP, "application %s is being produced by a line right now; wait for it to finish",
                  job.app_id);
        goto out;
    }
    if (strcmp(job.card_status, "good") != 0 && strcmp(job.card_status, "allocated") != 0 &&
        strcmp(job.card_status, "encoding") != 0) {
        log_error(CHIP,
                  "card %s is %s; only a finished (good) card or one allocated and not on a line can be "
                  "personalised here",
                  job.card_number, job.card_status);
        goto out;
    }
    if (encoder_check_card_data(&job.data, why, sizeof(why)) < 0) {
        log_error(CHIP, "application %s: the data cannot be written to the chip: %s", job.app_id, why);
        goto out;
    }
    int r = encoder_key_service_open_spec(ks_buf, &ks);
    if (r < 0) {
        log_error(CHIP, "key service '%s': %s", ks_buf, encoder_strerror(r));
        goto out;
    }
    if (open_station(reader, atr_allow, &t) < 0)
        goto out;

    snprintf(actor, sizeof(actor), "counter:%.80s", reader);
    r = encoder_personalize(t, ks, &job.data, &res);
    if (r < 0) {
        char masked[300];
        producer_mask_name(job.name, masked, sizeof(masked));
        snprintf(detail, sizeof(detail), "chip personalisation failed: %s; ATR %s, chip %s", res.cause,
                 res.atr_hex[0] ? res.atr_hex : "-", res.card_id_hex[0] ? res.card_id_hex : "-");
        store_event(conn, actor, "chip_failed", job.app_id, job.card_number, NULL, detail);
        log_error(CHIP, "card %s (%s): %s. Do not hand this card out: its chip may be half-written",
                  job.card_number, masked, res.cause);
        goto out;
    }
    snprintf(detail, sizeof(detail), "chip personalised and read back; ATR %s, chip %s", res.atr_hex,
             res.card_id_hex);
    if (store_production_record_chip(conn, job.card_number, res.atr_hex, res.card_id_hex, actor, job.app_id,
                                     detail) < 0) {
        log_error(CHIP, "card %s was personalised but could not be recorded", job.card_number);
        goto out;
    }
    printf(_("card %s personalised and read back (ATR %s, chip %s)\n"), job.card_number, res.atr_hex,
           res.card_id_hex);
    status = 0;
out:
    encoder_transport_close(t);
    encoder_key_service_free(ks);
    PQfinish(conn);
    return status;
}

/* `cardline chip unlock-pin`: the counter unblocks a holder's PIN after checking the document against the
 * card. */
static int chip_unlock_pin(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reader", required_argument, NULL, 'r'},  {"document", required_argument, NULL, 'd'},
        {"new-pin-stdin", no_argument, NULL, 'n'}, {"key-service", required_argument, NULL, 'k'},
        {"config", required_argument, NULL, 'C'},  {"atr-allow", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *reader = NULL, *document = NULL, *ks_spec = NULL, *config = NULL, *atr_opt = NULL;
    char atr_allow[CONFIG_MAX_ATRS * (CONFIG_ATR_TEXT_MAX + 1)] = "", ks_buf[512] = "", pin[16] = "",
                                                            masked[32];
    bool new_pin = false;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            reader = optarg;
            break;
        case 'd':
            document = optarg;
            break;
        case 'n':
            new_pin = true;
            break;
        case 'k':
            ks_spec = optarg;
            break;
        case 'C':
            config = optarg;
            break;
        case 'a':
            atr_opt = optarg;
            break;
        case 'h':
            return usage_error(argv[0], true);
        default:
            return usage_error(argv[0], false);
        }
    }
    if (optind != argc || !reader || !document || strlen(document) != 18)
        return usage_error(argv[0], false);
    int keys_r = counter_keys(config, ks_spec, atr_opt, ks_buf, sizeof(ks_buf), atr_allow, sizeof(atr_allow));
    if (keys_r != 0)
        return keys_r;
    if (new_pin) {
        if (!fgets(pin, sizeof(pin), stdin)) {
            log_error(CHIP, "--new-pin-stdin: no PIN on standard input");
            return EXIT_USAGE;
        }
        pin[strcspn(pin, "\r\n")] = '\0';
    }
    snprintf(masked, sizeof(masked), "%.4s**********%.4s", document, document + 14);

    struct encoder_key_service *ks = NULL;
    struct encoder_transport *t = NULL;
    struct encoder_result res;
    int status = 1;
    int r = encoder_key_service_open_spec(ks_buf, &ks);
    if (r < 0) {
        log_error(CHIP, "key service '%s': %s", ks_buf, encoder_strerror(r));
        goto out;
    }
    if (open_station(reader, atr_allow, &t) < 0)
        goto out;
    r = encoder_unblock_pin(t, ks, document, new_pin ? pin : NULL, &res);
    if (r < 0) {
        log_error(CHIP, "holder %s: PIN not unblocked: %s", masked,
                  res.cause[0] ? res.cause : encoder_strerror(r));
        goto out;
    }
    printf(new_pin ? _("holder %s: PIN reset to the new PIN (chip %s)\n")
                   : _("holder %s: PIN unblocked (chip %s)\n"),
           masked, res.card_id_hex);
    status = 0;
out:
    memset(pin, 0, sizeof(pin));
    encoder_transport_close(t);
    encoder_key_service_free(ks);
    return status;
}

int cmd_chip(struct globals *g, int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL, false);
    if (strcmp(argv[1], "read") == 0)
        return chip_read(argc - 1, argv + 1);
    if (strcmp(argv[1], "personalize") == 0 || strcmp(argv[1], "personalise") == 0)
        return chip_personalize(g, argc - 1, argv + 1);
    if (strcmp(argv[1], "readers") == 0)
        return argc == 2 ? chip_readers() : usage_error("readers", false);
    if (strcmp(argv[1], "unlock-pin") == 0)
        return chip_unlock_pin(argc - 1, argv + 1);
    return usage_error(NULL, false);
}
