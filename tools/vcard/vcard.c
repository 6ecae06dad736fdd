/* vcard.c — a virtual social security card (or issuer PSAM) for pcscd's vpcd reader driver, with injectable
 * faults; the card logic is the encoder library's simulated card, so the tests and the demo share one card */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "encoder-private.h"

/* vpcd wire format: 2-byte big-endian length, then the payload. One byte is a control message. */
#define VPCD_POWER_OFF 0x00
#define VPCD_POWER_ON  0x01
#define VPCD_RESET     0x02
#define VPCD_GET_ATR   0x04
#define VPCD_MSG_MAX   (ENCODER_APDU_MAX + 16)

struct options {
    const char *host;
    unsigned port;
    const char *key_file;
    unsigned long long seed;
    bool psam;
    bool foreign;
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len;
    int memory_fault_at;
    int pull_at;
    unsigned slow_ms;
    unsigned connect_timeout_ms;
    unsigned lifetime_s;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cardline-vcard [options]\n"
            "  --host ADDR            vpcd address (default 127.0.0.1)\n"
            "  --port N               vpcd port (default 35963, the first virtual reader)\n"
            "  --key-file PATH        issuer master key, 32 hex digits (required; mode 0600)\n"
            "  --seed N               manufacturer serial: the card identifier derives from it (default 1)\n"
            "  --psam                 be the issuer's PSAM instead of a social security card\n"
            "faults:\n"
            "  --foreign              a card without the social security application (bank-only card)\n"
            "  --atr HEX              answer the reset with this ATR (a card type the station must refuse)\n"
            "  --memory-fault-at N    the N-th UPDATE RECORD (from 0) answers 6581 (memory failure)\n"
            "  --pull-at N            the card is pulled out when the N-th UPDATE RECORD (from 0) arrives\n"
            "  --slow MS              every answer to a command takes MS milliseconds\n"
            "limits:\n"
            "  --connect-timeout MS   give up when vpcd does not accept within MS (default 10000)\n"
            "  --lifetime S           leave the reader after S seconds whatever happens (default 600)\n");
}

static bool parse_atr(const char *s, uint8_t *out, size_t *ret_len)
{
    int n = encoder_hex_parse(s, strlen(s), out, ENCODER_ATR_MAX);

    if (n < 2)
        return false;
    *ret_len = (size_t)n;
    return true;
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || v > max)
        return false;
    *ret = v;
    return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"key-file", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"psam", no_argument, NULL, 'P'},
        {"foreign", no_argument, NULL, 'f'},
        {"atr", required_argument, NULL, 'a'},
        {"memory-fault-at", required_argument, NULL, 'm'},
        {"pull-at", required_argument, NULL, 'u'},
        {"slow", required_argument, NULL, 'w'},
        {"connect-timeout", required_argument, NULL, 'c'},
        {"lifetime", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.host = "127.0.0.1",
                          .port = 35963,
                          .seed = 1,
                          .memory_fault_at = -1,
                          .pull_at = -1,
                          .connect_timeout_ms = 10000,
                          .lifetime_s = 600};
    int c;
    unsigned long long v;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            if (!parse_uint(optarg, 65535, &v) || v == 0)
                goto bad;
            o->port = (unsigned)v;
            break;
        case 'k':
            o->key_file = optarg;
            break;
        case 's':
            if (!parse_uint(optarg, UINT64_MAX, &v))
                goto bad;
            o->seed = v;
            break;
        case 'P':
            o->psam = true;
            break;
        case 'f':
            o->foreign = true;
            break;
        case 'a':
            if (!parse_atr(optarg, o->atr, &o->atr_len))
                goto bad;
            break;
        case 'm':
            if (!parse_uint(optarg, 1000, &v))
                goto bad;
            o->memory_fault_at = (int)v;
            break;
        case 'u':
            if (!parse_uint(optarg, 1000, &v))
                goto bad;
            o->pull_at = (int)v;
            break;
        case 'w':
            if (!parse_uint(optarg, 600000, &v))
                goto bad;
            o->slow_ms = (unsigned)v;
            break;
        case 'c':
            if (!parse_uint(optarg, 600000, &v))
                goto bad;
            o->connect_timeout_ms = (unsigned)v;
            break;
        case 'l':
            if (!parse_uint(optarg, 86400, &v) || v == 0)
                goto bad;
            o->lifetime_s = (unsigned)v;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc || !o->key_file) {
        usage(stderr);
        return -1;
    }
    return 0;
bad:
    fprintf(stderr, "cardline-vcard: bad option value '%s'\n", optarg);
    return -1;
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* vpcd listens; the card connects. vpcd may not be up yet, so retry until the deadline. */
static int connect_vpcd(const struct options *o)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1) {
        fprintf(stderr, "cardline-vcard: --host must be an IPv4 address\n");
        return -1;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        close(fd);
        if (ms_since(&t0) >= (long)o->connect_timeout_ms) {
            fprintf(stderr, "cardline-vcard: vpcd on %s:%u did not accept within %u ms\n", o->host, o->port,
                    o->connect_timeout_ms);
            return -1;
        }
        sleep_ms(50);
    }
}

/* Read exactly len bytes, waiting at most until the card's lifetime ends. 1 = ok, 0 = closed, -1 = error. */
static int read_full(int fd, uint8_t *buf, size_t len, const struct timespec *t0, unsigned lifetime_s)
{
    size_t got = 0;
    while (got < len) {
        long left = (long)lifetime_s * 1000 - ms_since(t0);
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -1;
        if (pr == 0)
            continue;
        /* vpcd writes a message's length and its payload separately, without TCP_NODELAY: a delayed ACK here
         * would hold every payload back ~40 ms (Nagle). Acknowledge at once; the kernel resets this each
         * time. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 1;
}

static int send_msg(int fd, const uint8_t *payload, size_t len)
{
    uint8_t buf[2 + ENCODER_RESP_MAX + ENCODER_ATR_MAX];
    if (len > sizeof buf - 2)
        return -1;
    buf[0] = (uint8_t)(len >> 8);
    buf[1] = (uint8_t)len;
    memcpy(buf + 2, payload, len);
    size_t off = 0;
    while (off < len + 2) {
        ssize_t n = send(fd, buf + off, len + 2 - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);

    struct encoder_sim_card_config cc = {
        .kind = o.psam ? ENCODER_SIM_CARD_PSAM : ENCODER_SIM_CARD_SSC,
        .seed = o.seed,
        .foreign = o.foreign,
        .atr = o.atr_len ? o.atr : NULL,
        .atr_len = o.atr_len,
        .memory_fault_at = o.memory_fault_at,
    };
    if (encoder_key_file_read(o.key_file, cc.master) < 0) {
        fprintf(stderr, "cardline-vcard: cannot read the key from %s (32 hex digits, mode 0600)\n",
                o.key_file);
        return 1;
    }
    struct encoder_sim_card *card = NULL;
    int r = encoder_sim_card_new(&cc, &card);
    OPENSSL_cleanse(cc.master, sizeof cc.master);
    if (r < 0) {
        fprintf(stderr, "cardline-vcard: %s\n", encoder_strerror(r));
        return 1;
    }
    uint8_t atr[ENCODER_ATR_MAX];
    size_t atr_len = 0;
    encoder_sim_card_power_on(card, atr, sizeof atr, &atr_len);
    encoder_sim_card_power_off(card);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int fd = connect_vpcd(&o);
    if (fd < 0) {
        encoder_sim_card_free(card);
        return 1;
    }

    int status = 0;
    for (;;) {
        uint8_t hdr[2], msg[VPCD_MSG_MAX];
        int rr = read_full(fd, hdr, 2, &t0, o.lifetime_s);
        if (rr <= 0) {
            status = rr < 0 ? 1 : 0; /* closed by vpcd: the reader went away */
            break;
        }
        size_t len = (size_t)hdr[0] << 8 | hdr[1];
        if (len == 0 || len > sizeof msg) {
            fprintf(stderr, "cardline-vcard: bad message length %zu from vpcd\n", len);
            status = 1;
            break;
        }
        if (read_full(fd, msg, len, &t0, o.lifetime_s) <= 0) {
            status = 1;
            break;
        }
        if (len == 1) {
            uint8_t tmp[ENCODER_ATR_MAX];
            size_t tmp_len;
            switch (msg[0]) {
            case VPCD_POWER_OFF:
                encoder_sim_card_power_off(card);
                break;
            case VPCD_POWER_ON:
            case VPCD_RESET:
                encoder_sim_card_power_on(card, tmp, sizeof tmp, &tmp_len);
                break;
            case VPCD_GET_ATR:
                if (send_msg(fd, atr, atr_len) < 0)
                    status = 1;
                break;
            default:
                break;
            }
            if (status)
                break;
            continue;
        }

        /* A command APDU. */
        if (o.pull_at >= 0 && len >= 2 && msg[1] == 0xDC &&
            encoder_sim_card_updates(card) == (unsigned)o.pull_at) {
            /* Pulled out mid-write: no answer, the contacts are gone. */
            status = 0;
            break;
        }
        if (o.slow_ms)
            sleep_ms(o.slow_ms);
        uint8_t resp[ENCODER_RESP_MAX];
        size_t resp_len = 0;
        if (encoder_sim_card_apdu(card, msg, len, resp, sizeof resp, &resp_len) < 0) {
            resp[0] = 0x6F; /* no precise diagnosis: not powered, or an internal limit */
            resp[1] = 0x00;
            resp_len = 2;
        }
        if (send_msg(fd, resp, resp_len) < 0) {
            status = 1;
            break;
        }
    }
    close(fd);
    encoder_sim_card_free(card);
    return status;
}
