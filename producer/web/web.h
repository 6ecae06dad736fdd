/* web.h — the dashboard's request handling, independent of the HTTP library: routing, authentication, roles,
 * CSRF, input validation and the JSON API; http.c feeds it requests from libmicrohttpd, the fuzz target
 * directly */
#pragma once

#include "account/account.h"
#include "store/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEB_JSON_MAX   (64u * 1024u)        /* bodies of API calls */
#define WEB_UPLOAD_MAX (4u * 1024u * 1024u) /* a photo (the photo library's own limit) */
/* Failed sign-ins within WEB_LOGIN_WINDOW_S, then 429 (counted in the database, see limit.h): per account
 * from one address (its rightful holder elsewhere still signs in), per address whatever the account, and per
 * account from all addresses together (a brake on guessing from many addresses) */
#define WEB_LOGIN_FAILURES             5
#define WEB_LOGIN_FAILURES_PER_CLIENT  20
#define WEB_LOGIN_FAILURES_PER_ACCOUNT 100
#define WEB_LOGIN_WINDOW_S             300
/* Failed public tracking look-ups (unknown application or wrong document) within WEB_TRACK_WINDOW_S: per
 * address, per application from one address, and per application from all addresses; then 429 */
#define WEB_TRACK_FAILURES_PER_CLIENT 10
#define WEB_TRACK_FAILURES            5
#define WEB_TRACK_FAILURES_PER_APP    20
#define WEB_TRACK_WINDOW_S            300

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
    const char *file_name;       /* X-File-Name header of an upload */
    const char *doc_number;      /* X-Document-Number header of a studio's upload: the applicant's document */
    const char *accept_language; /* Accept-Language header: the reader's, unless a lang cookie chose */
    const char *client;          /* the client's address (the peer's, or the one a trusted proxy forwarded) */
    /* the scheme the client used, "http" or "https" (NULL: https with secure cookies, else http), that an
     * Origin must name: behind a TLS proxy, as the trusted proxy forwarded it */
    const char *scheme;
    /* from the trusted proxy: its Host is the name it serves (the proxy checks it), not ours to check */
    bool via_proxy;
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
    bool cacheable;       /* static assets */
    const char *language; /* Content-Language of a page or an answer in words ("zh-CN", "en") */
    /* the database failed before the request changed anything (while checking who asks): the caller may run
     * it once more on a fresh connection */
    bool db_retry;
};

struct photo_checker;
struct photo_profile;

struct web_server {
    const char *web_dir; /* serve assets from here instead of the embedded copies (development) */
    bool secure_cookies; /* add Secure to the session cookie (behind TLS) */
    /* the photo quality checker for studio uploads, loaded once per server process (web_server_load_checker)
     * and shared read-only by the request threads; NULL: uploads are answered 503 */
    struct photo_checker *checker;
    /* the photo rules studio uploads are checked against: the configuration's photo_profile, the rules the
     * lines check applications' photos with (web_server_set_profile); NULL: the built-in default, "ssc" */
    struct photo_profile *profile;
    /* the address the server listens on, canonical text ("" when unknown): with the loopback names, the only
     * Host a request may name (DNS rebinding); listen_any (0.0.0.0, ::) accepts every IP address */
    char listen_host[46];
    bool listen_any;
    /* a request's language when it names none (no lang cookie, no Accept-Language: a script, not a
     * browser): the process's (LANG, else Chinese), taken by web_server_init() on the starting thread */
    int default_lang;
};

void web_server_init(struct web_server *s);
void web_server_destroy(struct web_server *s); /* frees the checker too */
/* Load the face and eye models for studio uploads from model_dir (NULL: $CARDLINE_PHOTO_MODELS or the
 * photo library's default). Returns 0 or a negative PHOTO_ERROR (logged); the server still runs without. */
int web_server_load_checker(struct web_server *s, const char *model_dir);
/* Check uploads against the profile the configuration names (struct producer_config's photo_profile): a
 * built-in profile by name or a bureau's profile file; NULL or "" keeps the default, "ssc". Returns 0 or a
 * negative PHOTO_ERROR (logged): then the server must not start, as a line would not. */
int web_server_set_profile(struct web_server *s, const char *name);

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
/* The client's address as a trusted proxy forwarded it: the last "for=" of a Forwarded header, else the last
 * entry of X-Forwarded-For (either may be NULL), in canonical text; false when there is none or it is not an
 * IP address (then the peer's address counts). */
bool web_forwarded_client(const char *forwarded, const char *xff, char *out, size_t size);
/* True when s is valid UTF-8 without control characters, at most max bytes. */
bool web_text_ok(const char *s, size_t max);
/* May a request name this Host? NULL (HTTP/1.0, no browser) yes; else "localhost", a loopback address or the
 * listen address, with an optional port; any IP address when listening on all. A name that is not ours is
 * how DNS rebinding reaches a loopback server from a web page. */
bool web_host_ok(const struct web_server *s, const char *host);
/* The scheme a trusted proxy forwarded: the last proto= of a Forwarded header, else X-Forwarded-Proto (either
 * may be NULL); NULL unless it is "http" or "https". */
const char *web_forwarded_proto(const char *forwarded, const char *xfp);
/* Request data (method, path, header values) for a log line: printable ASCII kept, everything else (CR, LF,
 * control characters, bytes past ASCII) and the backslash as \xNN, cut to fit out with "..." */
void web_log_text(const char *in, char *out, size_t size);

/* The embedded assets (generated from producer/web/assets/ at build time). */
struct web_asset {
    const char *path; /* "/login.html" */
    const unsigned char *data;
    size_t len;
};
extern const struct web_asset web_assets[];
extern const size_t web_asset_count;
/* The messages the pages' scripts translate (_('...') and N_('...') in the scripts in producer/web/assets,
 * found by embed_web.cmake): /i18n.js gives each one's translation in the request's language. */
extern const char *const web_js_messages[];
extern const size_t web_js_message_count;
