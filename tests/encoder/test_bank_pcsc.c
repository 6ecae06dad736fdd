/* test_bank_pcsc.c — the bank application through real pcscd + vpcd against the independent two-application
 * card (tools/ssc-card/pboc_card.py): both applications personalised on one card and read back, a card whose
 * SCP02 keys are not ours refused before anything is sent, what the card itself refuses (wrong host
 * cryptogram, tampered C-MAC, out-of-sequence block, STORE DATA before authentication, GPO before
 * personalisation), wrong key check values, a block the card fails to store; and, with "bench", full
 * personalisation against the SSSE pass. Run inside tests/encoder/pcsc-env.sh: usage test_bank_pcsc PBOC_CARD
 * [bench] */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <winscard.h>

#include "bank_testdata.h"
#include "vcard_wait.h"
#include "encoder-private.h"

#define READER "Virtual PCD 00 00"

static const char *vcard_path;
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

static void write_key(const char *path, uint8_t key[16])
{
    if (getrandom(key, 16, 0) != 16)
        exit(1);
    char hex[33];
    encoder_hex(key, 16, hex, sizeof hex);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, hex, 32) != 32 || write(fd, "\n", 1) != 1) {
        perror(path);
        exit(1);
    }
    close(fd);
}

/* A two-application card; extra options (NULL-terminated) after the key. */
static pid_t spawn_card(const char *key, ...)
{
    /* the card is made for the bureau's region, pinned as the card data's below */
    const char *argv[18] = {vcard_path, "--key-file", key,        "--lifetime", "120",
                            "--seed",   "5",          "--region", "440200"};
    int n = 9;
    va_list ap;
    va_start(ap, key);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 17)
        argv[n++] = a;
    va_end(ap);
    pid_t pid = fork();
    if (pid == 0) {
        execv(vcard_path, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static struct encoder_transport *open_station(void)
{
    struct encoder_pcsc_config cfg = {.reader = READER, .card_wait_ms = 3000, .apdu_timeout_ms = 5000};
    struct encoder_transport *t = NULL;
    if (encoder_open_pcsc(&cfg, &t) < 0)
        return NULL;
    return t;
}

static struct encoder_card_data sample(void)
{
    return (struct encoder_card_data){.region_code = "440200",
                                      .card_type = '3',
                                      .spec_version = "3.00",
                                      .card_number = "A00000017",
                                      .issue_date = "20261128",
                                      .expiry_date = "20361128",
                                      .ssn = "44010619900307123X",
                                      .name = "张三",
                                      .sex = '1',
                                      .ethnicity = 1,
                                      .birth_place = "440106",
                                      .birth_date = "19900307"};
}

static struct encoder_bank_data *bank_data(const uint8_t root[16], unsigned serial, unsigned flags)
{
    static char text[16384];
    char cause[256];
    size_t n = bank_testdata(root, serial, flags, text, sizeof text);
    struct encoder_bank_data *d = NULL;
    if (n == 0 || encoder_bank_data_parse(text, n, &d, cause, sizeof cause) < 0) {
        fprintf(stderr, "test data: %s\n", cause);
        return NULL;
    }
    return d;
}

static char key_path[256], other_path[256];
static uint8_t root[16], other[16];

/* One card, both applications: the SSSE pass, then the bank's, then both read back from fresh resets. */
static void both_applications(struct encoder_transport *t, struct encoder_key_service *ks)
{
    scenario = "both";
    struct encoder_card_data cd = sample();
    struct encoder_result sr;
    int r = encoder_personalize(t, ks, &cd, &sr);
    CHECK(r == 0, "SSSE personalisation: %s", sr.cause);
    struct encoder_bank_data *d = bank_data(root, 1, BANK_TD_BIG_RECORD);
    CHECK(d, "bank data");
    struct encoder_bank_result br;
    r = encoder_bank_personalize(t, ks, d, &br);
    struct encoder_bank_summary sum;
    encoder_bank_data_summary(d, &sum);
    CHECK(r == 0, "bank personalisation: %s (%s)", encoder_strerror(r), br.cause);
    CHECK(br.store_data_blocks >= 3 && br.records_read == 3, "blocks %u records %u", br.store_data_blocks,
          br.records_read);
    CHECK(strcmp(br.pan_masked, sum.pan_masked) == 0, "masked PAN %s", br.pan_masked);
    /* a terminal's read of the finished card, and the social security application still intact */
    r = encoder_bank_read(t, d, &br);
    CHECK(r == 0, "terminal read: %s", br.cause);
    struct encoder_card_info info;
    r = encoder_read_card_keys(t, ks, &info);
    CHECK(r == 0 && strcmp(info.card_number, "A00000017") == 0, "SSSE read-back: %s", info.cause);
    /* personalised once: the application refuses a second personalisation */
    r = encoder_bank_personalize(t, ks, d, &br);
    CHECK(r == ENCODER_ERROR_AUTH && strstr(br.cause, "INITIALIZE UPDATE"), "second pass: %d %s", r,
          br.cause);
    encoder_bank_data_free(d);
    printf("ok: both applications personalised and read back (masked account %s)\n", sum.pan_masked);
}

/* The card's keys are not the key service's: refused on the card cryptogram, nothing stored. */
static void wrong_key(struct encoder_transport *t, struct encoder_key_service *ks)
{
    scenario = "wrong-key";
    struct encoder_bank_data *d = bank_data(root, 2, 0);
    CHECK(d, "bank data");
    struct encoder_bank_result br;
    int r = encoder_bank_personalize(t, ks, d, &br);
    encoder_bank_data_free(d);
    CHECK(r == ENCODER_ERROR_CRYPTOGRAM && !br.data_written, "got %d (%s)", r, br.cause);
    CHECK(strstr(br.cause, "cryptogram"), "cause %s", br.cause);
    printf("ok: wrong key set refused on the card cryptogram: %s\n", br.cause);
}

static uint16_t xmit(struct encoder_transport *t, const uint8_t *apdu, size_t n, uint8_t *out,
                     size_t *out_len)
{
    uint8_t resp[ENCODER_RESP_MAX];
    size_t len = 0;
    if (encoder_transport_transmit(t, apdu, n, resp, sizeof resp, &len) < 0 || len < 2)
        return 0;
    if (out) {
        memcpy(out, resp, len - 2);
        *out_len = len - 2;
    }
    return (uint16_t)(resp[len - 2] << 8 | resp[len - 1]);
}

/* INITIALIZE UPDATE and the host cryptogram; returns the SW of INITIALIZE UPDATE. */
static uint16_t open_channel(struct encoder_transport *t, struct encoder_key_service *ks,
                             struct encoder_scp02_ref *ref, uint8_t ea[21], uint8_t mac[8], bool wrong_host)
{
    uint8_t iu[14] = {0x80, 0x50, 0x20, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}, resp[64];
    size_t n = 0;
    uint16_t sw = xmit(t, iu, sizeof iu, resp, &n);
    if (sw != 0x9000 || n != 28)
        return sw ? sw : 1;
    memcpy(ref->kdd, resp, 10);
    ref->kv = resp[10];
    memcpy(ref->seq, resp + 12, 2);
    memcpy(ea, (uint8_t[]){0x84, 0x82, 0x01, 0x00, 0x10}, 5);
    if (encoder_key_service_scp02_auth(ks, ref, iu + 5, resp + 14, resp + 20, ea + 5) < 0)
        return 2;
    if (wrong_host)
        ea[5] ^= 0x01;
    encoder_key_service_scp02_cmac(ks, ref, NULL, ea, 13, mac);
    memcpy(ea + 13, mac, 8);
    return 0x9000;
}

static uint16_t store(struct encoder_transport *t, struct encoder_key_service *ks,
                      struct encoder_scp02_ref *ref, uint8_t mac[8], uint8_t p2, bool tamper)
{
    uint8_t cmd[5 + 6 + 8] = {0x84, 0xE2, 0x00, p2, 6 + 8, 0x91, 0x03, 0x03, 0x01, 0x02, 0x03}, m[8];
    encoder_key_service_scp02_cmac(ks, ref, mac, cmd, 11, m);
    memcpy(mac, m, 8);
    memcpy(cmd + 11, m, 8);
    if (tamper)
        cmd[18] ^= 0x01;
    return xmit(t, cmd, sizeof cmd, NULL, NULL);
}

/* What the card refuses, command by command. */
static void card_refuses(struct encoder_transport *t, struct encoder_key_service *ks)
{
    scenario = "card-refuses";
    uint8_t atr[ENCODER_ATR_MAX], ea[21], mac[8];
    size_t atr_len;
    struct encoder_scp02_ref ref;
    CHECK(t->ops->reset(t->ctx, atr, sizeof atr, &atr_len) == 0, "reset");
    uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01, 0x00};
    CHECK(xmit(t, sel, sizeof sel, NULL, NULL) == 0x9000, "SELECT");
    uint8_t gpo[] = {0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00};
    uint16_t sw = xmit(t, gpo, sizeof gpo, NULL, NULL);
    CHECK(sw == 0x6985, "GPO before personalisation answered %04X", sw);
    uint8_t sd[] = {0x80, 0xE2, 0x80, 0x00, 0x03, 0x91, 0x00, 0x00};
    sw = xmit(t, sd, sizeof sd, NULL, NULL);
    CHECK(sw == 0x6982, "STORE DATA before authentication answered %04X", sw);
    CHECK(open_channel(t, ks, &ref, ea, mac, true) == 0x9000, "INITIALIZE UPDATE");
    sw = xmit(t, ea, sizeof ea, NULL, NULL);
    CHECK(sw == 0x6300, "wrong host cryptogram answered %04X", sw);
    CHECK(open_channel(t, ks, &ref, ea, mac, false) == 0x9000, "INITIALIZE UPDATE");
    CHECK(xmit(t, ea, sizeof ea, NULL, NULL) == 0x9000, "EXTERNAL AUTHENTICATE");
    sw = store(t, ks, &ref, mac, 0, true);
    CHECK(sw == 0x6982, "tampered C-MAC answered %04X", sw);
    /* the session is closed: a well-MACed command is refused too */
    sw = store(t, ks, &ref, mac, 0, false);
    CHECK(sw == 0x6982, "STORE DATA after a closed session answered %04X", sw);
    CHECK(open_channel(t, ks, &ref, ea, mac, false) == 0x9000, "INITIALIZE UPDATE");
    CHECK(xmit(t, ea, sizeof ea, NULL, NULL) == 0x9000, "EXTERNAL AUTHENTICATE");
    sw = store(t, ks, &ref, mac, 0, false);
    CHECK(sw == 0x9000, "STORE DATA block 0 answered %04X", sw);
    sw = store(t, ks, &ref, mac, 2, false);
    CHECK(sw == 0x6A86, "block 2 after block 0 answered %04X", sw);
    if (t->ops->power_off)
        t->ops->power_off(t->ctx);
    printf(
        "ok: the card refuses GPO and STORE DATA too early, a wrong host cryptogram (6300), a tampered C-MAC "
        "(6982) and a block out of sequence (6A86)\n");
}

/* Keys whose check values differ, and data without its GPO answer: refused before any STORE DATA. */
static void bad_data(struct encoder_transport *t, struct encoder_key_service *ks)
{
    scenario = "bad-data";
    struct encoder_bank_data *d = bank_data(root, 3, BANK_TD_WRONG_KCV);
    CHECK(d, "bank data");
    struct encoder_bank_result br;
    int r = encoder_bank_personalize(t, ks, d, &br);
    encoder_bank_data_free(d);
    CHECK(r == ENCODER_ERROR_KEY && !br.data_written && strstr(br.cause, "check value"), "got %d (%s)", r,
          br.cause);
    static char text[16384];
    char cause[256];
    size_t n = bank_testdata(root, 3, BANK_TD_NO_9104, text, sizeof text);
    d = NULL;
    r = encoder_bank_data_parse(text, n, &d, cause, sizeof cause);
    CHECK(r == ENCODER_ERROR_BANK_DATA && !d && strstr(cause, "DGI9104: missing"), "missing DGI: %d %s", r,
          cause);
    printf(
        "ok: wrong key check values refused in the key service (%s); a missing DGI refused by the parser\n",
        br.cause);
}

/* A block the card fails to store: the error names the block, and the card counts as written (spoiled). */
static void memory_fault(struct encoder_transport *t, struct encoder_key_service *ks)
{
    scenario = "memory-fault";
    struct encoder_bank_data *d = bank_data(root, 4, 0);
    CHECK(d, "bank data");
    struct encoder_bank_result br;
    int r = encoder_bank_personalize(t, ks, d, &br);
    encoder_bank_data_free(d);
    CHECK(r == ENCODER_ERROR_WRITE && br.data_written && br.store_data_blocks == 1,
          "got %d written %d blocks %u (%s)", r, br.data_written, br.store_data_blocks, br.cause);
    CHECK(strstr(br.cause, "STORE DATA block 1") && strstr(br.cause, "6581"), "cause %s", br.cause);
    printf("ok: a failed STORE DATA spoils the card: %s\n", br.cause);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ms per SSSE pass against ms per SSSE + bank pass, on fresh cards of the same process. */
static void bench(struct encoder_key_service *ks, int cards)
{
    scenario = "bench";
    long ssse = 0, full = 0;
    for (int i = 0; i < cards; i++) {
        pid_t pid = spawn_card(key_path, (char *)NULL);
        CHECK(wait_card(READER, true, 10000), "card");
        struct encoder_transport *t = open_station();
        CHECK(t, "station");
        struct encoder_card_data cd = sample();
        struct encoder_result sr;
        struct encoder_bank_result br;
        struct encoder_bank_data *d = bank_data(root, 10 + (unsigned)i, 0);
        long t0 = now_ms();
        int r = encoder_personalize(t, ks, &cd, &sr);
        long t1 = now_ms();
        if (r == 0)
            r = encoder_bank_personalize(t, ks, d, &br);
        long t2 = now_ms();
        encoder_bank_data_free(d);
        encoder_transport_close(t);
        stop_vcard(pid);
        wait_card(READER, false, 10000);
        CHECK(r == 0, "card %d: %s / %s", i, sr.cause, br.cause);
        ssse += t1 - t0;
        full += t2 - t0;
    }
    printf("bench: %d cards; SSSE pass %.1f ms/card; SSSE + bank %.1f ms/card; ratio %.2f\n", cards,
           (double)ssse / cards, (double)full / cards, ssse ? (double)full / (double)ssse : 0.0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PBOC_CARD [bench]\n", argv[0]);
        return 2;
    }
    vcard_path = argv[1];
    const char *work = getenv("PCSC_WORK") ? getenv("PCSC_WORK") : "/tmp";
    snprintf(key_path, sizeof key_path, "%s/bank-root.key", work);
    snprintf(other_path, sizeof other_path, "%s/bank-other.key", work);
    write_key(key_path, root);
    write_key(other_path, other);
    struct encoder_key_service *ks = NULL;
    if (encoder_key_service_soft_file_new(key_path, &ks) < 0) {
        fprintf(stderr, "key service\n");
        return 1;
    }
    if (argc > 2 && strcmp(argv[2], "bench") == 0) {
        bench(ks, argc > 3 ? atoi(argv[3]) : 10);
        encoder_key_service_free(ks);
        return failures ? 1 : 0;
    }
    /* one card for the good path and the refusals (each scenario starts from a reset) */
    pid_t pid = spawn_card(key_path, (char *)NULL);
    if (!wait_card(READER, true, 10000)) {
        fprintf(stderr, "the virtual card did not appear in %s\n", READER);
        return 1;
    }
    struct encoder_transport *t = open_station();
    if (!t)
        return 1;
    bad_data(t, ks);
    both_applications(t, ks);
    encoder_transport_close(t);
    stop_vcard(pid);
    wait_card(READER, false, 10000);
    /* a fresh card for the raw refusals, then one made with another KMC */
    pid = spawn_card(key_path, (char *)NULL);
    wait_card(READER, true, 10000);
    t = open_station();
    if (t) {
        card_refuses(t, ks);
        encoder_transport_close(t);
    }
    stop_vcard(pid);
    wait_card(READER, false, 10000);
    pid = spawn_card(key_path, "--bank-kmc-file", other_path, (char *)NULL);
    wait_card(READER, true, 10000);
    t = open_station();
    if (t) {
        wrong_key(t, ks);
        encoder_transport_close(t);
    }
    stop_vcard(pid);
    wait_card(READER, false, 10000);
    pid = spawn_card(key_path, "--bank-fault-at", "1", (char *)NULL);
    wait_card(READER, true, 10000);
    t = open_station();
    if (t) {
        memory_fault(t, ks);
        encoder_transport_close(t);
    }
    stop_vcard(pid);
    encoder_key_service_free(ks);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
