/* http.h — `cardline serve`: libmicrohttpd in front of web.c, with a pool of database connections */
#pragma once

#include "store/db.h"

#include <stdbool.h>

struct http_config {
    const char *listen;  /* "127.0.0.1:8080", "[::1]:8080"; port 0 picks a free one */
    int threads;         /* database connections shared by the requests (each connection has a thread) */
    const char *web_dir; /* serve pages from this directory instead of the embedded copies */
    bool secure_cookies; /* mark the session cookie Secure (when a TLS proxy is in front) */
    /* the TLS proxy's address (NULL: none): only a request from it has its Forwarded / X-Forwarded-For client
     * address believed, for sign-in and tracking limits and the logs */
    const char *trusted_proxy;
    /* the photo profile studio uploads are checked against: the configuration's photo_profile (built-in name
     * or profile file), as the lines use; NULL or "": the default, "ssc" */
    const char *photo_profile;
};

/* Serve until SIGINT or SIGTERM. Prints "listening on http://ADDR:PORT/" once ready. Returns 0 or a negative
 * producer error. */
int producer_http_serve(const struct db_config *db, const struct http_config *cfg);
