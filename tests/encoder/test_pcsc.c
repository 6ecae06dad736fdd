/* test_pcsc.c — the encoder through real pcscd + vpcd against the virtual card (tools/vcard): personalise and
 * read back, access conditions, every injected fault, a non-SSC card, wrong ATR, the PSAM key service. Run
 * inside tests/encoder/pcsc-env.sh: usage test_pcsc VCARD [SCENARIO...] */
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

#define READER0 "Virtual PCD 00 00"
#define READER1 "Virtual PCD 00 01"
#define PORT0   "35963"
#define PORT1   "35964"
#define SIM_ATR "3B6C0000806411650190730000008107"

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

/* Stop a virtual card (the card leaves the reader) and reap it, waiting at most 5 s. */
static void stop_vcard(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        if (poll(&p, 1, 5000) == 0)
            kill(pid, SIGKILL);
        close(pfd);
    }
    waitpid(pid, NULL, 0);
}

/* Wait until the reader has (present = true) or has no card, at most timeout_ms. */
static bool wait_card(const char *reader, bool present, unsigned timeout_ms)
{
    SCARDCONTEXT ctx;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
        return false;
    SCARD_READERSTATE rs = {.szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool ok = false;
    DWORD timeout = 0;
    for (;;) {
        LONG rv = SCardGetStatusChange(ctx, timeout, &rs, 1);
        if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
            break;
        if (rv == SCARD_S_SUCCESS && !!(rs.dwEventState & SCARD_STATE_PRESENT) == present) {
            ok = true;
            break;
        }
        rs.dwCurrentState = rs.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (long)(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= (long)timeout_ms)
            break;
        timeout = (DWORD)((long)timeout_ms - spent);
    }
    SCardReleaseContext(ctx);
    return ok;
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
        .region_code = "440100",
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
        .initial_pin = "654321",
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
    CHECK(strcmp(res.atr_hex, SIM_ATR) == 0, "ATR %s", res.atr_hex);
    CHECK(strncmp(res.card_id_hex, "440100", 6) == 0, "card id %s", res.card_id_hex);

    /* A second power cycle: the card kept what was written. */
    struct encoder_card_info info;
    r = encoder_read_card(f.t, &info);
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
    CHECK(strcmp(info.issuer, "440100") == 0, "issuer %s", info.issuer);

    /* The PIN the personaliser set is the holder's, with a full retry counter; the blank's 123456 is gone. */
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len;
    CHECK(f.t->ops->reset(f.t->ctx, atr, sizeof atr, &atr_len) == 0, "reset");
    struct encoder_card card = {.t = f.t, .ops = encoder_ssse_ops()};
    CHECK(card.ops->select_aid(&card, encoder_ssse_aid, sizeof encoder_ssse_aid) == 0, "select");
    int tries = -1;
    CHECK(card.ops->verify_pin(&card, "123456", &tries) == ENCODER_ERROR_AUTH && tries == 2, "old PIN");
    CHECK(card.ops->verify_pin(&card, "654321", &tries) == 0, "new PIN");

    /* Access conditions through pcscd: no write without external authentication. */
    CHECK(card.ops->select_ef(&card, ENCODER_FID_EF06) == 0, "select EF06");
    const uint8_t tlv[] = {0x0A, 0x01, '1'};
    CHECK(card.ops->update_record(&card, 0x0A, tlv, sizeof tlv) == ENCODER_ERROR_AUTH && card.sw == 0x6982,
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
    CHECK(r == ENCODER_ERROR_AUTH, "got %s (%s)", encoder_strerror(r), res.cause);
    CHECK(strstr(res.cause, "6300") != NULL, "cause %s", res.cause);
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
    /* With a mask that admits it, the same card goes through. */
    char cause[128];
    CHECK(encoder_transport_set_atr_allowlist(
              f.t, SIM_ATR "; 3B:65:00:00:20:63:CB:00:00/FF:FF:FF:FF:FF:FF:FF:00:00", cause, sizeof cause) ==
              0,
          "allow-list: %s", cause);
    r = encoder_personalize(f.t, f.ks, &d, &res);
    CHECK(r == 0, "got %s (%s)", encoder_strerror(r), res.cause);
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
    r = encoder_read_card(f.t, &info);
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
                       strcmp(readers[1].atr_hex, "3B660000434C5053414D") != 0)) {
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
        if (r != ENCODER_ERROR_AUTH) {
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
