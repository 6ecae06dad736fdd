/* web.h — the dashboard's request handling, independent of the HTTP library: routing, authentication, roles,
 * CSRF, input validation and the JSON API; http.c feeds it requests from libmicrohttpd, the fuzz target
 * directly */
#pragma once

#include "account.h"
#include "db.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEB_JSON_MAX                  (64u * 1024u)        /* bodies of API calls */
#define WEB_UPLOAD_MAX                (4u * 1024u * 1024u) /* a photo (the photo library's own limit) */
#define WEB_LOGIN_FAILURES            5                    /* per account name ... */
#define WEB_LOGIN_FAILURES_PER_CLIENT 20  /* ... and per client address (a proxy or NAT shares one) ... */
#define WEB_LOGIN_WINDOW_S            300 /* ... within this many seconds, then 429 */

struct web_request {
    const char *method;
    const char *path; /* decoded, without the query */
    /* query argument lookup (NULL when absent) */
    const char *(*arg)(void *arg_ctx, const char *key);
    void *arg_ctx;
    const char *cookie;        /* Cookie header */
    const char *authorization; /* Authorization header */
    const char *csrf;          /* X-CSRF-Token header */
    const char *origin;        /* Origin header */
    const char *host;          /* Host header */
    const char *content_type;
    const char *file_name;  /* X-File-Name header of an upload */
    const char *doc_number; /* X-Document-Number header of a studio's upload: the applicant's document */
    const char *client;     /* the peer's address */
    const uint8_t *body;
    size_t body_len;
    bool body_too_large; /* the body went past the limit and was dropped */
};

struct web_response {
    int status;
    const char *content_type;
    uint8_t *body; /* malloc'd, or NULL */
    size_t len;
    char set_cookie[200];
    char disposition[160];
    char retry_after[24];
    char location[64];
    bool cacheable; /* static assets */
};

/* Login failures per key (client address or account name) in a small fixed table; thread-safe. */
struct web_limiter {
    pthread_mutex_t lock;
    struct {
        char key[64];
        long window_start;
        int failures;
    } slot[256];
};

struct photo_checker;

struct web_server {
    const char *web_dir; /* serve assets from here instead of the embedded copies (development) */
    bool secure_cookies; /* add Secure to the session cookie (behind TLS) */
    /* the photo quality checker for studio uploads, loaded once per server process (web_server_load_checker)
     * and shared read-only by the request threads; NULL: uploads are answered 503 */
    struct photo_checker *checker;
    struct web_limiter limiter;
};

void web_server_init(struct web_server *s);
void web_server_destroy(struct web_server *s); /* frees the checker too */
/* Load the face and eye models for studio uploads from model_dir (NULL: $CARDLINE_PHOTO_MODELS or the
 * photo library's default). Returns 0 or a negative PHOTO_ERROR (logged); the server still runs without. */
int web_server_load_checker(struct web_server *s, const char *model_dir);

/* Handle one request; conn may be NULL (no database: 503 after parsing, used by the fuzz target). Always
 * fills resp; the caller frees resp->body. */
void web_handle(struct web_server *s, PGconn *conn, const struct web_request *req, struct web_response *resp);
void web_response_free(struct web_response *resp);

/* Parsing helpers, pure and bounded (fuzzed). */
/* Value of cookie `name` in a Cookie header into out; false when absent or too long. */
bool web_cookie_get(const char *header, const char *name, char *out, size_t size);
/* Value of `key` in a raw query string (a=1&b=%20x), percent-decoded; false when absent, too long or not
 * UTF-8. */
bool web_query_get(const char *query, const char *key, char *out, size_t size);
/* Parse a JSON object body (depth and size bounded); NULL with a reason when it is not one. */
struct json_object *web_parse_json(const uint8_t *body, size_t len, char *why, size_t why_size);
/* True when s is valid UTF-8 without control characters, at most max bytes. */
bool web_text_ok(const char *s, size_t max);

/* The embedded assets (generated from producer/web/ at build time). */
struct web_asset {
    const char *path; /* "/login.html" */
    const unsigned char *data;
    size_t len;
};
extern const struct web_asset web_assets[];
extern const size_t web_asset_count;
