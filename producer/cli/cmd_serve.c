/* cmd_serve.c — `cardline serve`: the web dashboard and JSON API */
#include "base/config.h"
#include "cli/cli.h"
#include "base/i18n.h"
#include "web/http.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

/* --- systemd readiness and watchdog (Type=notify) ------------------------------------------------------ */

/* where to ask the server for a page: the listen address, with a wildcard host asked on loopback */
struct serve_probe {
    struct sockaddr_storage addr;
    socklen_t len;
};

static int probe_parse(const char *listen, struct serve_probe *ret)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    size_t n = colon ? (size_t)(colon - listen) : 0;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ret->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ret->addr;

    if (port <= 0 || port > 65535 || n == 0 || n >= sizeof(host))
        return -1;
    memcpy(host, listen, n);
    host[n] = '\0';
    memset(ret, 0, sizeof(*ret));
    if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
        host[n - 1] = '\0';
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
            return -1;
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
            in6->sin6_addr = in6addr_loopback;
        ret->len = sizeof(*in6);
        return 0;
    }
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
        return -1;
    if (in4->sin_addr.s_addr == htonl(INADDR_ANY))
        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ret->len = sizeof(*in4);
    return 0;
}

/* One request for the dashboard's front page, answered within 5 s: the request threads work, not only the
 * kernel's accept queue. */
static bool probe_answers(const struct serve_probe *p)
{
    static const char request[] = "GET / HTTP/1.0\r\n\r\n";
    struct timeval tv = {.tv_sec = 5};
    char reply[16] = "";
    ssize_t n = -1;
    int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return false;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (const struct sockaddr *)&p->addr, p->len) == 0 &&
        write(fd, request, sizeof(request) - 1) == (ssize_t)(sizeof(request) - 1))
        n = read(fd, reply, sizeof(reply) - 1);
    close(fd);
    return n >= 5 && strncmp(reply, "HTTP/", 5) == 0;
}

/* READY=1 once the server answers, then WATCHDOG=1 twice per WatchdogSec for as long as it answers. A port
 * of 0 cannot be asked: then readiness is the database being up, and the watchdog proves only that the
 * process lives. */
static void *serve_notifier(void *arg)
{
    struct serve_probe *probe = arg;
    uint64_t watchdog_us = 0;
    bool can_probe = probe->len > 0;

    while (can_probe && !probe_answers(probe))
        nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
    sd_notify(0, "READY=1");
    if (sd_watchdog_enabled(0, &watchdog_us) <= 0)
        return NULL;
    for (;;) {
        struct timespec half = {.tv_sec = (time_t)(watchdog_us / 2000000),
                                .tv_nsec = (long)(watchdog_us / 2 % 1000000) * 1000L};
        nanosleep(&half, NULL);
        if (!can_probe || probe_answers(probe))
            sd_notify(0, "WATCHDOG=1");
    }
    return NULL;
}

/* Only under systemd (NOTIFY_SOCKET set): a detached thread that must not take the SIGINT/SIGTERM the
 * server's main thread waits for. */
static void serve_notifier_start(const char *listen)
{
    static struct serve_probe probe;
    sigset_t stop, old;
    pthread_t t;

    if (!getenv("NOTIFY_SOCKET"))
        return;
    if (probe_parse(listen, &probe) < 0)
        memset(&probe, 0, sizeof(probe));
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    if (pthread_create(&t, NULL, serve_notifier, &probe) == 0)
        pthread_detach(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int cmd_serve(struct globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"web-dir", required_argument, NULL, 'w'},
                                         {"secure-cookies", no_argument, NULL, 's'},
                                         {"trusted-proxy", required_argument, NULL, 'p'},
                                         {"config", required_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct http_config cfg = {.listen = "127.0.0.1:8080", .threads = 4};
    struct producer_config *config = NULL;
    const char *config_path = NULL;
    PGconn *conn;
    long v;
    int c, r;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            cfg.listen = optarg;
            break;
        case 't':
            if (!cli_parse_int(optarg, 1, 32, &v))
                return cli_bad_number("--threads", optarg, 1, 32);
            cfg.threads = (int)v;
            break;
        case 'w':
            cfg.web_dir = optarg;
            break;
        case 's':
            cfg.secure_cookies = true;
            break;
        case 'p':
            cfg.trusted_proxy = optarg;
            break;
        case 'F':
            config_path = optarg;
            break;
        case 'h':
            cli_usage_print(stdout, "serve", NULL);
            return 0;
        default:
            return cli_usage_error("serve", NULL);
        }
    }
    if (optind < argc) {
        fprintf(stderr, _("cardline serve: unexpected argument '%s'\n"), argv[optind]);
        return EXIT_USAGE;
    }
    if (config_path) {
        char err[512];
        if (producer_config_load(config_path, &config, err, sizeof(err)) < 0) {
            fprintf(stderr, _("cardline: %s\n"), err);
            return 1;
        }
        cfg.photo_profile = config->photo_profile;
    }
    /* start the private cluster and bring the schema up to date once, before the request threads connect */
    conn = cli_open_db(g);
    if (!conn) {
        producer_config_free(config);
        return 1;
    }
    PQfinish(conn);
    serve_notifier_start(cfg.listen);
    r = producer_http_serve(&g->cfg, &cfg);
    sd_notify(0, "STOPPING=1");
    producer_config_free(config);
    return r < 0;
}
