/* cmd_serve.c — `cardline serve`: the web dashboard and JSON API */
#include "base/config.h"
#include "cli/cli.h"
#include "web/http.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char serve_usage[] =
    "Usage: cardline serve [--listen HOST:PORT] [--threads N] [--web-dir DIR] [--secure-cookies]\n"
    "                      [--trusted-proxy ADDRESS] [--config FILE]\n"
    "Serve the dashboard (pages for operators, studios, dispatch, auditors, admins; a public tracking page) "
    "and\n"
    "the JSON API under /api/v1, and /metrics for Prometheus, until Ctrl-C.\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0 picks a free port). "
    "Anything\n"
    "                      but loopback belongs behind a TLS proxy: then also give --secure-cookies\n"
    "  --threads N         database connections for the requests (default 4); every client connection is\n"
    "                      served by a thread of its own, so a slow request holds up no other\n"
    "  --web-dir DIR       serve the pages from DIR (producer/web/assets of a checkout) instead of the "
    "built-in "
    "copies\n"
    "  --secure-cookies    mark the session cookie Secure (HTTPS only)\n"
    "  --trusted-proxy ADDRESS\n"
    "                      the TLS proxy's IP address: from it alone, the client address in Forwarded or\n"
    "                      X-Forwarded-For counts (sign-in and tracking limits, logs); others are ignored\n"
    "  --config FILE       the configuration the lines run with: studio photos are checked against its\n"
    "                      photo_profile, as the lines check them (default: ssc)\n"
    "Accounts: cardline account add NAME --role ROLE.\n";

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
            fputs(serve_usage, stdout);
            return 0;
        default:
            fputs(serve_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cardline serve: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (config_path) {
        char err[512];
        if (producer_config_load(config_path, &config, err, sizeof(err)) < 0) {
            fprintf(stderr, "cardline: %s\n", err);
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
    r = producer_http_serve(&g->cfg, &cfg);
    producer_config_free(config);
    return r < 0;
}
