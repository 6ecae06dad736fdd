/* http.h — `cardline serve`: libmicrohttpd in front of web.c, with a pool of database connections */
#pragma once

#include "db.h"

#include <stdbool.h>

struct http_config {
    const char *listen;  /* "127.0.0.1:8080", "[::1]:8080"; port 0 picks a free one */
    int threads;         /* request threads, each with its own database connection */
    const char *web_dir; /* serve pages from this directory instead of the embedded copies */
    bool secure_cookies; /* mark the session cookie Secure (when a TLS proxy is in front) */
};

/* Serve until SIGINT or SIGTERM. Prints "listening on http://ADDR:PORT/" once ready. Returns 0 or a negative
 * producer error. */
int producer_http_serve(const struct db_config *db, const struct http_config *cfg);
