/* fuzz_keyservice.c — fuzz target for the encoder key service's inputs: key file text (through the pure
 * parser and through a real file opened by the "soft:" spec, which must agree), and key service specs naming
 * files with the wrong mode, links, directories and oversized keys. Input: a mode byte, then the key text or
 * spec. */
#include "fuzz.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "encoder-private.h"

#define FUZZ_SPEC_MAX 256

static char dir[64];

static void write_file(const char *name, const void *data, size_t len, mode_t mode)
{
    char path[128];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    CHECK(fd >= 0);
    CHECK(write(fd, data, len) == (ssize_t)len);
    CHECK(fchmod(fd, mode) == 0); /* whatever the umask */
    close(fd);
}

static void remove_dir(void)
{
    static const char *const names[] = {"key", "key-open", "key-long", "link", "input", "sub"};
    char path[128];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (unlink(path) < 0)
            rmdir(path);
    }
    rmdir(dir);
}

/* A private directory with one file of each kind a spec may name; the target puts relative "soft:" paths
 * inside it (no chdir: libFuzzer's corpus paths are relative to where it started). */
static void setup(void)
{
    static const char key[] = "00112233445566778899aabbccddeeff\n";
    char long_key[300], path[128];

    if (dir[0])
        return;
    snprintf(dir, sizeof(dir), "/tmp/cardline-fuzz-keys-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    atexit(remove_dir);
    write_file("key", key, sizeof(key) - 1, 0600);
    write_file("key-open", key, sizeof(key) - 1, 0644);
    memset(long_key, ' ', sizeof(long_key));
    memcpy(long_key, key, sizeof(key) - 1);
    write_file("key-long", long_key, sizeof(long_key), 0600);
    snprintf(path, sizeof(path), "%s/link", dir);
    CHECK(symlink("key", path) == 0);
    snprintf(path, sizeof(path), "%s/sub", dir);
    CHECK(mkdir(path, 0700) == 0);
}

/* "soft:<name>" -> "soft:<dir>/<name>"; anything else as it is. */
static void in_dir(const char *spec, char *out, size_t size)
{
    if (strncmp(spec, "soft:", 5) == 0 && spec[5])
        snprintf(out, size, "soft:%s/%s", dir, spec + 5);
    else
        snprintf(out, size, "%s", spec);
}

/* The parser must agree with this plain reading of the format: 32 hex digits, white space anywhere. */
static int reference_parse(const uint8_t *text, size_t len, uint8_t key[16])
{
    size_t digits = 0;

    for (size_t i = 0; i < len; i++) {
        int c = text[i], v;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            return -1;
        if (digits >= 32)
            return -1;
        key[digits / 2] = (uint8_t)(digits % 2 ? key[digits / 2] | v : v << 4);
        digits++;
    }
    return digits == 32 ? 0 : -1;
}

static void key_text(const uint8_t *data, size_t size)
{
    static const struct encoder_card_ref card = {
        .region = "440100",
        .atr_hist = {0x90, 0x73, 0x44, 0x01, 1, 2, 3, 4},
        .alg = ENCODER_ALG_SM4,
        .card_id = {0x44, 0x01, 0x00, 0xD1, 0x56, 0, 0, 5, 1, 2, 3, 4}};
    static const uint8_t process[8] = {8, 7, 6, 5, 4, 3, 2, 1}, original[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t key[16], want[16], card_key[16], c1[ENCODER_AUTH_LEN], c2[ENCODER_AUTH_LEN];
    char spec[128];
    struct encoder_key_service *ks = NULL;
    int r, ref;

    memset(key, 0xA5, sizeof(key));
    r = encoder_key_text_parse((const char *)data, size, key);
    ref = reference_parse(data, size, want);
    CHECK((r == 0) == (ref == 0));
    if (r == 0)
        CHECK(memcmp(key, want, sizeof(key)) == 0);
    else
        CHECK(r == ENCODER_ERROR_KEY);

    /* the same text as a key file behind "soft:": the service opens exactly what the parser accepts (up to
     * the file size limit), and computes with that key */
    write_file("input", data, size, 0600);
    in_dir("soft:input", spec, sizeof(spec));
    r = encoder_key_service_open_spec(spec, &ks);
    CHECK((r == 0) == (ref == 0 && size <= 256));
    if (r == 0) {
        CHECK(encoder_key_service_auth(ks, &card, ENCODER_KEY_UKSSSE, process, original, c1) == 0);
        CHECK(encoder_ssse_card_key(want, &card, card_key) == 0);
        CHECK(encoder_ssse_auth(ENCODER_ALG_SM4, card_key, process, original, c2) == 0);
        CHECK(memcmp(c1, c2, sizeof(c1)) == 0);
    }
    encoder_key_service_free(ks);
}

static void key_spec(const uint8_t *data, size_t size)
{
    char spec[FUZZ_SPEC_MAX + 1], path[FUZZ_SPEC_MAX + 128];
    struct encoder_key_service *ks = NULL;
    size_t n = size < FUZZ_SPEC_MAX ? size : FUZZ_SPEC_MAX;
    int r;

    memcpy(spec, data, n);
    spec[n] = '\0';
    /* a PSAM reader needs pcscd; absolute and parent paths would read the machine's files */
    if (strncmp(spec, "psam:", 5) == 0 && spec[5])
        return;
    if (strncmp(spec, "soft:", 5) == 0 && (spec[5] == '/' || strstr(spec, "..")))
        return;
    in_dir(spec, path, sizeof(path));
    r = encoder_key_service_open_spec(path, &ks);
    if (strcmp(spec, "soft:key") == 0 || strcmp(spec, "soft:./key") == 0)
        CHECK(r == 0);
    else if (strncmp(spec, "soft:", 5) == 0) {
        /* only the good key file (or the last text input, when it held a key) opens */
        const char *name = spec + 5 + strspn(spec + 5, "./");
        CHECK(r < 0 || strcmp(name, "key") == 0 || strcmp(name, "input") == 0);
    } else
        CHECK(r == ENCODER_ERROR_INVALID);
    encoder_key_service_free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    if (data[0] % 2 == 0)
        key_text(data + 1, size - 1);
    else
        key_spec(data + 1, size - 1);
    return 0;
}
