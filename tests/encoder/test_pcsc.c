/* test_pcsc.c — the encoder through real pcscd + vpcd against the independent virtual card (tools/ssc-card):
 * personalise and read back, access conditions, every injected fault, a non-SSC card, wrong ATR, the PSAM key
 * service, 3DES cards, the block of a spoiled card, PIN unblock, and the old (wrong) byte sequences refused.
 * Run inside tests/encoder/pcsc-env.sh: usage test_pcsc VCARD [SCENARIO...] */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <winscard.h>

#include "encoder-private.h"
#include "vcard_wait.h"

#define READER0 "Virtual PCD 00 00"
#define READER1 "Virtual PCD 00 01"
#define PORT0   "35963"
#define PORT1   "35964"
/* the bureau's region, pinned: every virtual card is made for it (--region), which its ATR (T8 T9), card
 * identifier and initialising organisation then carry */
#define TEST_REGION "440200"
/* the independent card's ATR: 13 historical bytes, T8 T9 the region's first four digits, T10..T13 the card
 * serial (hence the mask) */
#define CARD_ATR_PREFIX "3B6D000000814A444686604402"
#define SIM_ATR         CARD_ATR_PREFIX "00000000/FFFFFFFFFFFFFFFFFFFFFFFFFF00000000"

static const char *vcard_path;
static char key_path[512], other_key_path[512];
static int failures;
static const char *scenario = "";

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "FAIL [%s] %s:%d: %s: ", scenario, __FILE__, __LINE__, #cond);                   \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
            failures++;                                                                                      \
            return;                                                                                          \
        }                                                                                                    \
    } while (0)

static void write_key(const char *path)
{
    uint8_t key[16];
    if (getrandom(key, sizeof key, 0) != sizeof key) {
        perror("getrandom");
        exit(1);
    }
    char hex[33];
    encoder_hex(key, sizeof key, hex, sizeof hex);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, hex, 32) != 32 || write(fd, "\n", 1) != 1) {
        perror(path);
        exit(1);
    }
    close(fd);
}

/* Start a virtual card on the given vpcd port with extra options (NULL-terminated). */
static pid_t spawn_vcard(const char *port, const char *key, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = vcard_path;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--key-file";
    argv[n++] = key;
    argv[n++] = "--lifetime";
    argv[n++] = "120";
    argv[n++] = "--region";
    argv[n++] = TEST_REGION;
    va_list ap;
    va_start(ap, key);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        execv(vcard_path, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct encoder_card_data sample(void)
{
    struct encoder_card_data d = {
        .region_code = TEST_REGION,
        .card_type = '3',
        .spec_version = "3.00",
        .card_number = "A00000017",
        .issue_date = "20261128",
        .expiry_date = "20361128",
        .ssn = "44010619900307123X",
        .name = "阿依古丽·买买提依明·阿卜杜克热木",
        .sex = '2',
        .ethnicity = 5,
        .birth_place = "440106",
        .birth_date = "19900307",
        .initial_pin = "",
    };
    return d;
}

static struct encoder_transport *open_station(const char *reader, unsigned apdu_timeout_ms)
{
    struct encoder_pcsc_config cfg = {
        .reader = reader, .card_wait_ms = 3000, .apdu_timeout_ms = apdu_timeout_ms};
    struct encoder_transport *t = NULL;
    int r = encoder_open_pcsc(&cfg, &t);
    if (r < 0) {
        fprintf(stderr, "cannot open %s: %s\n", reader, encoder_strerror(r));
        return NULL;
    }
    return t;
}

static struct encoder_key_service *soft_ks(const char *path)
{
    char spec[600];
    snprintf(spec, sizeof spec, "soft:%s", path);
    struct encoder_key_service *ks = NULL;
    if (encoder_key_service_open_spec(spec, &ks) < 0)
        return NULL;
    return ks;
}

/* A card with a card inserted on reader 0, the station opened with the SSC allow-list. */
struct fixture {
    pid_t card;
    struct encoder_transport *t;
    struct encoder_key_service *ks;
};

static bool setup(struct fixture *f, unsigned apdu_timeout_ms, const char *key, ...)
{
    memset(f, 0, sizeof *f);
    const char *extra[8] = {0};
    va_list ap;
    va_start(ap, key);
    for (int i = 0; i < 7; i++)
        if (!(extra[i] = va_arg(ap, const char *)))
            break;
    va_end(ap);
    f->card =
        spawn_vcard(PORT0, key, extra[0], extra[1], extra[2], extra[3], extra[4], extra[5], (char *)NULL);
    if (!wait_card(READER0, true, 10000)) {
        fprintf(stderr, "FAIL [%s]: the virtual card did not appear in %s\n", scenario, READER0);
        return false;
    }
    f->t = open_station(READER0, apdu_timeout_ms);
    f->ks = soft_ks(key_path);
    char cause[128] = "";
    if (!f->t || !f->ks || encoder_transport_set_atr_allowlist(f->t, SIM_ATR, cause, sizeof cause) < 0) {
        fprintf(stderr, "FAIL [%s]: station set-up: %s\n", scenario, cause);
        return false;
    }
    return true;
}

static void teardown(struct fixture *f)
{
    encoder_transport_close(f->t);
    encoder_key_service_free(f->ks);
    stop_vcard(f->card);
    if (!wait_card(READER0, false, 10000))
        fprintf(stderr, "warning [%s]: the card did not leave %s\n", scenario, READER0);
}

static bool open_card(struct fixture *f, struct encoder_card_ref *ref);
static uint16_t auth_key(struct fixture *f, const struct encoder_card_ref *ref, enum encoder_key_role role,
                         uint8_t kid);

/* ---- scenarios ---- */

static void personalize_and_read_back(void)
{
    struct fixture f;
    if (!setup(&f, 5000, key_path, "--seed", "7", NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    if (r != 0)
        fprintf(stderr, "cause: %s\n", res.cause);
    CHECK(r == 0, "personalize: %s", encoder_strerror(r));
    CHECK(strncmp(res.atr_hex, CARD_ATR_PREFIX, strlen(CARD_ATR_PREFIX)) == 0, "ATR %s", res.atr_hex);
    CHECK(strncmp(res.card_id_hex, TEST_REGION, 6) == 0, "card id %s", res.card_id_hex);

    /* A second power cycle: the card kept what was written. */
    struct encoder_card_info info;
    r = encoder_read_card_keys(f.t, f.ks, &info);
    CHECK(r == 0, "read: %s (%s)", encoder_strerror(r), info.cause);
    CHECK(strcmp(info.card_id_hex, res.card_id_hex) == 0, "same card");
    CHECK(strcmp(info.card_number, "A00000017") == 0, "card number %s", info.card_number);
    CHECK(strcmp(info.ssn, d.ssn) == 0, "ssn");
    CHECK(strcmp(info.name, d.name) == 0, "name (with extension record) '%s'", info.name);
    CHECK(strcmp(info.issue_date, "20261128") == 0 && strcmp(info.expiry_date, "20361128") == 0, "dates");
    CHECK(strcmp(info.birth_date, "19900307") == 0 && strcmp(info.birth_place, "440106") == 0, "birth");
    CHECK(strcmp(info.sex, "2") == 0 && strcmp(info.ethnicity, "05") == 0, "sex %s ethnicity %s", info.sex,
          info.ethnicity);
    CHECK(strcmp(info.card_type, "3") == 0 && strcmp(info.spec_version, "3.00") == 0, "type/version");
    CHECK(strcmp(info.issuer, "9156000002" TEST_REGION TEST_REGION "01") == 0, "initialising organisation %s",
          info.issuer);

    /* The maker's PIN verifies (production verified it, leaving the counter full). */
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len;
    CHECK(f.t->ops->reset(f.t->ctx, atr, sizeof atr, &atr_len) == 0, "reset");
    struct encoder_card card = {.t = f.t, .ops = encoder_ssse_ops()};
    CHECK(card.ops->select_aid(&card, encoder_ssse_aid, sizeof encoder_ssse_aid, NULL, 0, NULL) == 0,
          "select");
    int tries = -1;
    CHECK(card.ops->verify_pin(&card, "654321", &tries) == ENCODER_ERROR_AUTH && tries == 2, "wrong PIN");
    CHECK(card.ops->verify_pin(&card, "123456", &tries) == 0, "maker's PIN");

    /* Both addressing modes read the same record: number 2 (P2 04) and identifier 09 (P2 00), under RKSSSE.
     */
    struct encoder_card_ref ref;
    CHECK(open_card(&f, &ref), "open");
    CHECK(auth_key(&f, &ref, ENCODER_KEY_RKSSSE, ENCODER_KID_RKSSSE) == 0x9000, "RKSSSE authentication");
    CHECK(card.ops->select_ef(&card, ENCODER_FID_EF06) == 0, "select EF06");
    uint8_t by_number[32], by_id[32];
    size_t n1 = 0, n2 = 0;
    CHECK(card.ops->read_record(&card, 2, ENCODER_REC_BY_NUMBER, by_number, sizeof by_number, &n1) == 0 &&
              card.ops->read_record(&card, 0x09, ENCODER_REC_BY_ID, by_id, sizeof by_id, &n2) == 0 &&
              n1 == 32 && n2 == 32 && memcmp(by_number, by_id, 32) == 0 && by_number[0] == 0x09,
          "record 2 / identifier 09 (%zu, %zu)", n1, n2);

    /* Access conditions through pcscd: no write without external authentication. */
    const uint8_t tlv[] = {0x0A, 0x01, '1'};
    CHECK(card.ops->update_record(&card, 4, ENCODER_REC_BY_NUMBER, tlv, sizeof tlv) == ENCODER_ERROR_AUTH &&
              card.sw == 0x6982,
          "unauthenticated write answered %04X", card.sw);
    f.t->ops->power_off(f.t->ctx);
    teardown(&f);
}

static void wrong_key_refused(void)
{
    struct fixture f;
    if (!setup(&f, 5000, other_key_path, NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    /* The card is checked first (INTERNAL AUTHENTICATE): keys of another issuer never get to write. */
    CHECK(r == ENCODER_ERROR_NOT_GENUINE, "got %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "not a genuine card") != NULL && !res.data_written, "cause %s", res.cause);
    teardown(&f);
}

static void memory_failure(void)
{
    struct fixture f;
    if (!setup(&f, 5000, key_path, "--memory-fault-at", "3", NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == ENCODER_ERROR_WRITE, "got %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "status 6581 (memory failure)") != NULL, "cause %s", res.cause);
    CHECK(strlen(res.card_id_hex) == 32, "card id known for the spoiled card");
    /* data reached the card: it was blocked before leaving the station, and reads back blocked */
    CHECK(res.data_written && res.blocked && strstr(res.cause, "card blocked"), "block: %s", res.cause);
    struct encoder_card_info info;
    r = encoder_read_card_keys(f.t, f.ks, &info);
    CHECK(r == ENCODER_ERROR_BLOCKED && strstr(info.cause, "9303"), "read: %s (%s)", encoder_strerror(r),
          info.cause);
    teardown(&f);
}

static void card_pulled(void)
{
    struct fixture f;
    if (!setup(&f, 5000, key_path, "--pull-at", "4", NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    fprintf(stderr, "[%s] outcome: %s — %s\n", scenario, encoder_strerror(r), res.cause);
    CHECK(r == ENCODER_ERROR_NO_CARD, "got %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "chip write failed") != NULL && strstr(res.cause, "removed") != NULL, "cause %s",
          res.cause);
    /* The station is empty now, and says so. */
    r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == ENCODER_ERROR_NO_CARD, "next: %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "no card in reader") != NULL, "cause %s", res.cause);
    teardown(&f);
}

static void slow_but_in_time(void)
{
    struct fixture f;
    if (!setup(&f, 2000, key_path, "--slow", "40", NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    long t0 = now_ms();
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    long ms = now_ms() - t0;
    CHECK(r == 0, "got %s (%s)", encoder_strerror(r), res.cause);
    CHECK(ms >= 30 * 40, "a slow card takes longer (%ld ms)", ms);
    teardown(&f);
}

static void too_slow(void)
{
    struct fixture f;
    if (!setup(&f, 800, key_path, "--slow", "2000", NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    long t0 = now_ms();
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    long ms = now_ms() - t0;
    CHECK(r == ENCODER_ERROR_TIMEOUT, "got %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "within 800 ms") != NULL, "cause %s", res.cause);
    CHECK(ms < 1800, "the line waited %ld ms, not the card's 2000", ms);
    /* The reader is still busy with the stuck command: the next card is refused at once, not waited for. */
    t0 = now_ms();
    r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == ENCODER_ERROR_TIMEOUT && now_ms() - t0 < 500, "busy: %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "still busy") != NULL, "cause %s", res.cause);
    teardown(&f); /* closes a transport with a stuck worker */
}

static void wrong_atr(void)
{
    struct fixture f;
    if (!setup(&f, 5000, key_path, "--atr", "3B6500002063CBA000", NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == ENCODER_ERROR_ATR, "got %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "3B6500002063CBA000") != NULL, "cause %s", res.cause);
    CHECK(res.card_id_hex[0] == '\0', "nothing was done to the card");
    /* With a mask that admits it, the card is still refused: its ATR has no historical bytes T6..T13, which
     * the card keys are dispersed with ([P9] §7.3.3), so no key could match it. */
    char cause[128];
    CHECK(encoder_transport_set_atr_allowlist(
              f.t, SIM_ATR "; 3B:65:00:00:20:63:CB:00:00/FF:FF:FF:FF:FF:FF:FF:00:00", cause, sizeof cause) ==
              0,
          "allow-list: %s", cause);
    r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == ENCODER_ERROR_ATR && strstr(res.cause, "T6..T13"), "got %s (%s)", encoder_strerror(r),
          res.cause);
    CHECK(res.card_id_hex[0] == '\0', "nothing was done to the card");
    teardown(&f);
}

static void not_ssc(void)
{
    struct fixture f;
    if (!setup(&f, 5000, key_path, "--foreign", NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == ENCODER_ERROR_NOT_SSC, "got %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "not a social security card") != NULL, "cause %s", res.cause);
    struct encoder_card_info info;
    r = encoder_read_card_keys(f.t, f.ks, &info);
    CHECK(r == ENCODER_ERROR_NOT_SSC, "read: %s", encoder_strerror(r));
    teardown(&f);
}

static void no_card_no_reader(void)
{
    struct encoder_transport *t = open_station(READER0, 1000);
    CHECK(t != NULL, "open");
    struct encoder_key_service *ks = soft_ks(key_path);
    struct encoder_card_data d = sample();
    struct encoder_result res;
    long t0 = now_ms();
    int r = encoder_personalize(t, ks, &d, &res);
    CHECK(r == ENCODER_ERROR_NO_CARD, "empty: %s (%s)", encoder_strerror(r), res.cause);
    CHECK(now_ms() - t0 < 4500, "bounded wait");
    encoder_transport_close(t);

    t = open_station("No Such Reader", 1000);
    CHECK(t != NULL, "open succeeds; the reader is looked up at reset");
    r = encoder_personalize(t, ks, &d, &res);
    CHECK(r == ENCODER_ERROR_NO_READER, "no reader: %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "No Such Reader") != NULL, "cause %s", res.cause);
    encoder_transport_close(t);

    /* Prefix match: "Virtual PCD" names two readers, "Virtual PCD 00 00" one. */
    t = open_station("Virtual PCD", 1000);
    r = encoder_personalize(t, ks, &d, &res);
    CHECK(r == ENCODER_ERROR_NO_READER && strstr(res.cause, "several"), "%s", res.cause);
    encoder_transport_close(t);
    encoder_key_service_free(ks);

    struct encoder_reader_info readers[4];
    size_t n = 0;
    CHECK(encoder_pcsc_list_readers(readers, 4, &n) == 0 && n == 2, "two readers, got %zu", n);
    CHECK(strcmp(readers[0].name, READER0) == 0 && !readers[0].card_present, "reader 0");
}

static void psam_key_service(void)
{
    /* The PSAM holds the master key in the second slot; the line's process never sees it. */
    pid_t psam = spawn_vcard(PORT1, key_path, "--psam", (char *)NULL);
    bool psam_in = wait_card(READER1, true, 10000);
    struct fixture f;
    bool ok = setup(&f, 5000, key_path, NULL);
    struct encoder_key_service *ks = NULL;
    char spec[64];
    snprintf(spec, sizeof spec, "psam:%s", READER1);
    int r = psam_in && ok ? encoder_key_service_open_spec(spec, &ks) : -1;
    if (r == 0) {
        struct encoder_card_data d = sample();
        struct encoder_result res;
        r = encoder_personalize(f.t, ks, &d, &res);
        if (r != 0)
            fprintf(stderr, "FAIL [%s]: %s (%s)\n", scenario, encoder_strerror(r), res.cause);
        struct encoder_reader_info readers[4];
        size_t n = 0;
        if (r == 0 && (encoder_pcsc_list_readers(readers, 4, &n) != 0 || n != 2 || !readers[1].card_present ||
                       strcmp(readers[1].atr_hex, "3B66000053535053414D") != 0)) {
            fprintf(stderr, "FAIL [%s]: reader list does not show the PSAM\n", scenario);
            r = -1;
        }
    } else {
        fprintf(stderr, "FAIL [%s]: PSAM key service: %s\n", scenario, encoder_strerror(r));
    }
    if (r != 0)
        failures++;
    encoder_key_service_free(ks);
    teardown(&f);
    stop_vcard(psam);
    wait_card(READER1, false, 10000);

    /* A PSAM made with another key gives cryptograms the card refuses. */
    psam = spawn_vcard(PORT1, other_key_path, "--psam", (char *)NULL);
    psam_in = wait_card(READER1, true, 10000);
    ok = setup(&f, 5000, key_path, NULL);
    ks = NULL;
    r = psam_in && ok ? encoder_key_service_open_spec(spec, &ks) : -1;
    if (r == 0) {
        struct encoder_card_data d = sample();
        struct encoder_result res;
        r = encoder_personalize(f.t, ks, &d, &res);
        if (r != ENCODER_ERROR_NOT_GENUINE) {
            fprintf(stderr, "FAIL [%s]: wrong PSAM: %s (%s)\n", scenario, encoder_strerror(r), res.cause);
            failures++;
        }
    } else {
        failures++;
    }
    encoder_key_service_free(ks);
    teardown(&f);
    stop_vcard(psam);
    wait_card(READER1, false, 10000);
}

/* One raw command (hex, no spaces) through the transport; returns the final status word, or 0 on failure. */
static uint16_t raw_sw(struct encoder_transport *t, const char *hex, uint8_t *out, size_t *ret_len)
{
    uint8_t apdu[ENCODER_APDU_MAX], resp[ENCODER_RESP_MAX];
    size_t resp_len = 0;
    int n = encoder_hex_parse(hex, strlen(hex), apdu, sizeof apdu);
    if (n < 4 || encoder_transport_transmit(t, apdu, (size_t)n, resp, sizeof resp, &resp_len) < 0 ||
        resp_len < 2)
        return 0;
    if (out && ret_len) {
        memcpy(out, resp, resp_len - 2);
        *ret_len = resp_len - 2;
    }
    return (uint16_t)(resp[resp_len - 2] << 8 | resp[resp_len - 1]);
}

/* Reset, select SSSE (FCI), read the card identifier: what the key service needs to know about the card. */
static bool open_card(struct fixture *f, struct encoder_card_ref *ref)
{
    uint8_t atr[ENCODER_ATR_MAX], buf[ENCODER_RESP_MAX];
    size_t atr_len = 0, n = 0;
    memset(ref, 0, sizeof *ref);
    if (f->t->ops->reset(f->t->ctx, atr, sizeof atr, &atr_len) < 0 ||
        encoder_atr_hist_factor(atr, atr_len, ref->atr_hist) < 0)
        return false;
    if (raw_sw(f->t, "00A404000F7378312E73682EC9E7BBE1B1A3D5CF00", buf, &n) != 0x9000 ||
        encoder_ssse_fci_parse(buf, n, &ref->alg) < 0)
        return false;
    if (raw_sw(f->t, "00A4020002EF05", NULL, NULL) != 0x9000 ||
        raw_sw(f->t, "00B2010412", buf, &n) != 0x9000 || n != 18)
        return false;
    memcpy(ref->card_id, buf + 2, 16);
    char hex[33];
    encoder_hex(buf + 2, 16, hex, sizeof hex);
    memcpy(ref->region, hex, 6);
    return true;
}

/* EXTERNAL AUTHENTICATE as the standard has it: auth data 8 ‖ original 8, key id kid (04 UKSSSE, 0A RKSSSE).
 */
static uint16_t auth_key(struct fixture *f, const struct encoder_card_ref *ref, enum encoder_key_role role,
                         uint8_t kid)
{
    uint8_t process[8], data[16];
    size_t n = 0;
    if (raw_sw(f->t, "0084000008", process, &n) != 0x9000 || n != 8)
        return 0;
    memset(data + 8, 0x5A, 8);
    if (encoder_key_service_auth(f->ks, ref, role, process, data + 8, data) < 0)
        return 0;
    char hex[80];
    snprintf(hex, sizeof hex, "008200%02X10", kid);
    encoder_hex(data, 16, hex + 10, sizeof hex - 10);
    return raw_sw(f->t, hex, NULL, NULL);
}

#define EXPECT_SW(hex, want)                                                                                 \
    do {                                                                                                     \
        uint16_t got_ = raw_sw(f.t, hex, NULL, NULL);                                                        \
        CHECK(got_ == (want), "%s answered %04X, want %04X", hex, got_, (unsigned)(want));                   \
    } while (0)

/* The byte sequences cardline sent before issue #12 are refused by a card that follows the standard. */
static void old_sequences_refused(void)
{
    struct fixture f;
    struct encoder_card_ref ref;
    if (!setup(&f, 5000, key_path, NULL) || !open_card(&f, &ref)) {
        failures++;
        teardown(&f);
        return;
    }
    CHECK(ref.alg == ENCODER_ALG_SM4, "algorithm from the FCI: %02X", ref.alg);
    /* the old EXTERNAL AUTHENTICATE: key id 01 and a 16-byte cryptogram */
    EXPECT_SW("0084000008", 0x9000);
    EXPECT_SW("0082000110000102030405060708090A0B0C0D0E0F", 0x6A88);
    CHECK(auth_key(&f, &ref, ENCODER_KEY_UKSSSE, ENCODER_KID_UKSSSE) == 0x9000, "UKSSSE authentication");
    /* EF05 01-04 are the maker's: rewriting them (as cardline did with 02-04) is refused */
    EXPECT_SW("00DC020403020133", 0x6982);
    EXPECT_SW("00DC0304060304332E3030", 0x6982);
    EXPECT_SW("00DC04040E040C343430313030000000000000", 0x6982);
    EXPECT_SW("00A4020002EF06", 0x9000);
    /* P1 = tag with P2 = 04 (record number): record 08 of EF06 does not exist */
    EXPECT_SW("00B2080414", 0x6A83);
    EXPECT_SW("00DC0804140812343430313036313939303033303731323358", 0x6A83);
    EXPECT_SW("00DC4E04044E024142", 0x6A83);
    /* short records: the name with its actual length, a 4E of 2 bytes by identifier */
    EXPECT_SW("00DC020405090341424300", 0x6700);
    EXPECT_SW("00DC4E00044E024142", 0x6700);
    /* the right forms of the same: record number 4 (sex) and identifier 0A */
    EXPECT_SW("00DC0404030A0131", 0x9000);
    EXPECT_SW("00DC0A00030A0132", 0x9000);
    /* a 3.00 card reads EF06 only under RKSSSE (key 0A) */
    EXPECT_SW("00B20A0003", 0x6982);
    CHECK(auth_key(&f, &ref, ENCODER_KEY_RKSSSE, ENCODER_KID_RKSSSE) == 0x9000, "RKSSSE authentication");
    EXPECT_SW("00B20A0003", 0x9000);
    /* the old initial-PIN command (ISO RESET RETRY COUNTER) and PBOC's RELOAD PIN are not SSC commands */
    EXPECT_SW("002C020003123456", 0x6D00);
    EXPECT_SW("805E000007123456AABBCCDD", 0x6A86);
    teardown(&f);
}

/* A locked PIN is unblocked at a counter (PUK, 84 24 00 00 with the MAC), and reset to a new PIN (84 24 00
 * 01). */
static void unlock_pin(void)
{
    struct fixture f;
    if (!setup(&f, 5000, key_path, NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == 0, "personalize: %s (%s)", encoder_strerror(r), res.cause);
    struct encoder_card_ref ref;
    CHECK(open_card(&f, &ref), "open");
    EXPECT_SW("0020000003999999", 0x63C2);
    EXPECT_SW("0020000003999999", 0x63C1);
    EXPECT_SW("0020000003999999", 0x63C0);
    EXPECT_SW("0020000003123456", 0x6983);
    r = encoder_unblock_pin(f.t, f.ks, "440106199003071234", NULL, &res);
    CHECK(r == ENCODER_ERROR_INVALID && strstr(res.cause, "not the holder's"), "other holder: %s", res.cause);
    r = encoder_unblock_pin(f.t, f.ks, d.ssn, NULL, &res);
    CHECK(r == 0, "unblock: %s (%s)", encoder_strerror(r), res.cause);
    CHECK(open_card(&f, &ref), "open");
    EXPECT_SW("0020000003123456", 0x9000);
    r = encoder_unblock_pin(f.t, f.ks, d.ssn, "2468", &res);
    CHECK(r == 0, "reset to a new PIN: %s (%s)", encoder_strerror(r), res.cause);
    CHECK(open_card(&f, &ref), "open");
    EXPECT_SW("00200000022468", 0x9000);
    teardown(&f);
}

/* A 3DES card (FCI flag 01): the same personalisation with the other algorithm; then blocked on request. */
static void des_card(void)
{
    struct fixture f;
    if (!setup(&f, 5000, key_path, "--alg", "3des", NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == 0, "personalize: %s (%s)", encoder_strerror(r), res.cause);
    struct encoder_card_info info;
    r = encoder_read_card_keys(f.t, f.ks, &info);
    CHECK(r == 0 && strcmp(info.name, d.name) == 0, "read: %s (%s)", encoder_strerror(r), info.cause);
    r = encoder_block_card(f.t, f.ks, &res);
    CHECK(r == 0 && res.blocked, "block: %s (%s)", encoder_strerror(r), res.cause);
    r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == ENCODER_ERROR_BLOCKED, "a blocked card: %s (%s)", encoder_strerror(r), res.cause);
    teardown(&f);
}

/* A blank of another spec version than the bureau buys is refused before anything is written. */
static void wrong_blank(void)
{
    struct fixture f;
    if (!setup(&f, 5000, key_path, "--spec-version", "2.00", NULL)) {
        failures++;
        teardown(&f);
        return;
    }
    struct encoder_card_data d = sample();
    struct encoder_result res;
    int r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == ENCODER_ERROR_BLANK && !res.data_written, "got %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "version '2.00'") != NULL, "cause %s", res.cause);
    teardown(&f);
}

static const struct {
    const char *name;
    void (*fn)(void);
} scenarios[] = {
    {"personalize", personalize_and_read_back},
    {"wrong-key", wrong_key_refused},
    {"memory-failure", memory_failure},
    {"card-pulled", card_pulled},
    {"slow", slow_but_in_time},
    {"too-slow", too_slow},
    {"wrong-atr", wrong_atr},
    {"not-ssc", not_ssc},
    {"no-card", no_card_no_reader},
    {"psam", psam_key_service},
    {"old-sequences", old_sequences_refused},
    {"unlock-pin", unlock_pin},
    {"3des", des_card},
    {"wrong-blank", wrong_blank},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s VCARD [SCENARIO...]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    vcard_path = argv[1];
    const char *dir = getenv("PCSC_WORK");
    if (!dir)
        dir = "/tmp";
    /* test keys are made for this run only */
    snprintf(key_path, sizeof key_path, "%s/issuer.key", dir);
    snprintf(other_key_path, sizeof other_key_path, "%s/other.key", dir);
    write_key(key_path);
    write_key(other_key_path);

    int ran = 0;
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        bool wanted = argc == 2;
        for (int a = 2; a < argc; a++)
            wanted |= strcmp(argv[a], scenarios[i].name) == 0;
        if (!wanted)
            continue;
        scenario = scenarios[i].name;
        int before = failures;
        long t0 = now_ms();
        scenarios[i].fn();
        printf("%s %s (%ld ms)\n", failures == before ? "ok  " : "FAIL", scenario, now_ms() - t0);
        fflush(stdout);
        ran++;
    }
    unlink(key_path);
    unlink(other_key_path);
    if (ran == 0) {
        fprintf(stderr, "no such scenario\n");
        return 2;
    }
    return failures ? 1 : 0;
}
