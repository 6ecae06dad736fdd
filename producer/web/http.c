/* http.c — the HTTP side of `cardline serve`: libmicrohttpd (a thread per connection), bounded request
 * bodies and heads (a deadline for the whole head), unambiguous body framing, security headers on every
 * answer, the client address (forwarded by a trusted proxy only), and a small pool of database connections */
#include "web/http.h"
#include "store/store.h"

#include "base/i18n.h"
#include "base/log.h"
#include "web/web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <locale.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define POOL_MAX    32
#define POOL_WAIT_S 10
/* A request head (request line and headers) must be in within this many seconds of the connection opening
 * or the last answer on it, however it trickles in: libmicrohttpd's idle timeout starts again with every
 * byte, so one byte a second would hold a connection (and its thread) for ever */
#define HEAD_DEADLINE_S 10

/* One connection's head deadline, watched by the watchdog thread. */
struct watch {
    struct watch *prev, *next;
    int fd;
    struct timespec since; /* CLOCK_MONOTONIC: when the head now being read began */
    bool in_request;       /* the head is in: no deadline until the answer is sent */
    bool cut;
};

struct watchdog {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC */
    struct watch *head;
    bool stop;
    bool running;
    pthread_t thread;
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    const struct db_config *db;
    PGconn *conn[POOL_MAX];
    bool busy[POOL_MAX];
    int size;
};

struct server {
    struct pool pool;
    struct watchdog watchdog;
    struct web_server web;
    char trusted_proxy[INET6_ADDRSTRLEN]; /* canonical text, "" for none */
};

/* One request's body as it arrives. */
struct upload {
    uint8_t *data;
    size_t len, cap, limit;
    bool too_large;
};

static PGconn *pool_take(struct pool *p)
{
    struct timespec until;
    PGconn *conn = NULL;
    int slot = -1;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += POOL_WAIT_S;
    pthread_mutex_lock(&p->lock);
    while (slot < 0) {
        for (int i = 0; i < p->size && slot < 0; i++) {
            if (!p->busy[i])
                slot = i;
        }
        if (slot < 0 && pthread_cond_timedwait(&p->freed, &p->lock, &until) == ETIMEDOUT)
            break;
    }
    if (slot >= 0)
        p->busy[slot] = true;
    pthread_mutex_unlock(&p->lock);
    if (slot < 0)
        return NULL;
    conn = p->conn[slot];
    /* the server may have restarted: reconnect lazily */
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        if (conn)
            PQreset(conn);
        else
            conn = p->conn[slot] = producer_db_connect(p->db);
        if (conn && PQstatus(conn) != CONNECTION_OK)
            log_warn("http", "database connection lost: %s", PQerrorMessage(conn));
    }
    if (!conn) {
        pthread_mutex_lock(&p->lock);
        p->busy[slot] = false;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->lock);
    }
    return conn;
}

static void pool_give(struct pool *p, PGconn *conn)
{
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->size; i++) {
        if (p->conn[i] == conn)
            p->busy[i] = false;
    }
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Ends the connections whose head is late: shutting the socket down makes libmicrohttpd's read end and it
 * closes the connection itself. The socket is still open while its entry is listed (libmicrohttpd tells of
 * the close before it closes), and the list is only read under the lock. Waits for the next deadline. */
static void *watchdog_run(void *arg)
{
    struct watchdog *w = arg;

    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct timespec now, next = {0, 0};
        bool any = false;
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (struct watch *x = w->head; x; x = x->next) {
            struct timespec due = x->since;
            if (x->in_request || x->cut)
                continue;
            due.tv_sec += HEAD_DEADLINE_S;
            if (!ts_before(&now, &due)) {
                shutdown(x->fd, SHUT_RDWR);
                x->cut = true;
                log_debug("http", "a request head took longer than %d s: connection closed", HEAD_DEADLINE_S);
            } else if (!any || ts_before(&due, &next)) {
                next = due;
                any = true;
            }
        }
        if (any)
            pthread_cond_timedwait(&w->wake, &w->lock, &next);
        else
            pthread_cond_wait(&w->wake, &w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void connection_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    struct watchdog *w = &((struct server *)cls)->watchdog;
    struct watch *x = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(x = calloc(1, sizeof(*x))))
            return; /* unwatched: the idle timeout still holds */
        x->fd = ci->connect_fd;
        clock_gettime(CLOCK_MONOTONIC, &x->since);
        pthread_mutex_lock(&w->lock);
        x->next = w->head;
        if (w->head)
            w->head->prev = x;
        w->head = x;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        *socket_context = x;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && x) {
        pthread_mutex_lock(&w->lock);
        if (x->prev)
            x->prev->next = x->next;
        else
            w->head = x->next;
        if (x->next)
            x->next->prev = x->prev;
        pthread_mutex_unlock(&w->lock);
        free(x);
        *socket_context = NULL;
    }
}

/* The head of a request is in (in_request), or its answer went out and the next head's deadline starts. An
 * idle keep-alive connection counts as a late head too: a browser opens a new one. */
static void watch_mark(struct server *srv, struct MHD_Connection *mc, bool in_request)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct watch *x = ci ? ci->socket_context : NULL;

    if (!x)
        return;
    pthread_mutex_lock(&srv->watchdog.lock);
    x->in_request = in_request;
    if (!in_request) {
        clock_gettime(CLOCK_MONOTONIC, &x->since);
        pthread_cond_signal(&srv->watchdog.wake);
    }
    pthread_mutex_unlock(&srv->watchdog.lock);
}

/* Stops the watchdog thread (when it runs) and frees what is left of its list. */
static void watchdog_stop(struct watchdog *w)
{
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    if (w->running)
        pthread_join(w->thread, NULL);
    while (w->head) {
        struct watch *x = w->head;
        w->head = x->next;
        free(x);
    }
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
}

static const char *arg_lookup(void *ctx, const char *key)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static void add_security_headers(struct MHD_Response *r, bool cacheable)
{
    MHD_add_response_header(
        r, "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(r, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    MHD_add_response_header(r, "Cache-Control", cacheable ? "no-cache" : "no-store");
}

static enum MHD_Result send_simple(struct MHD_Connection *mc, unsigned status, const char *json, bool close)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    add_security_headers(r, false);
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    if (close)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(mc, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* How a request says where its body ends: Content-Length values and whether Transfer-Encoding is there. */
struct framing {
    const char *length; /* the first Content-Length */
    bool conflict;      /* another Content-Length that differs, or one that is not a number */
    bool transfer_encoding;
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (!value || !*value || strspn(value, "0123456789") != strlen(value) ||
            (f->length && strcmp(f->length, value) != 0))
            f->conflict = true;
        if (!f->length)
            f->length = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding = true;
    }
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    struct server *srv = cls;
    struct upload *up = *con_cls;
    struct web_request req;
    struct web_response resp;
    struct MHD_Response *r;
    enum MHD_Result ret;
    char client[INET6_ADDRSTRLEN] = "?";
    const union MHD_ConnectionInfo *ci;
    PGconn *conn;

    (void)version;
    if (!up) {
        const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        struct framing framing = {NULL, false, false};
        watch_mark(srv, mc, true);
        up = calloc(1, sizeof(*up));
        if (!up)
            return MHD_NO;
        up->limit = strcmp(url, "/api/v1/photos") == 0 ? WEB_UPLOAD_MAX : WEB_JSON_MAX;
        *con_cls = up;
        /* a body whose end two readers could see in different places (two lengths, or a length and chunks)
         * is how requests are smuggled past a proxy: refused, and the connection closed, as RFC 9112 says */
        MHD_get_connection_values(mc, MHD_HEADER_KIND, framing_header, &framing);
        if (framing.conflict || (framing.length && framing.transfer_encoding))
            return send_simple(mc, 400,
                               "{\"error\":\"conflicting Content-Length, or Content-Length with "
                               "Transfer-Encoding\"}",
                               true);
        /* a declared length past the limit is refused before a byte of it is read */
        if (cl && strtoull(cl, NULL, 10) > up->limit)
            return send_simple(
                mc, 413, "{\"error\":\"the body is too large (photos up to 4 MiB, API calls up to 64 KiB)\"}",
                false);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (!up->too_large && up->len + n <= up->limit) {
            if (up->len + n > up->cap) {
                size_t cap = up->cap ? up->cap : 4096;
                uint8_t *p;
                while (cap < up->len + n)
                    cap *= 2;
                p = realloc(up->data, cap);
                if (!p)
                    return MHD_NO;
                up->data = p;
                up->cap = cap;
            }
            memcpy(up->data + up->len, upload_data, n);
            up->len += n;
        } else {
            up->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        if (ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, client,
                      sizeof(client));
        else if (ci->client_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
                      client, sizeof(client));
    }
    memset(&req, 0, sizeof(req));
    /* behind the TLS proxy every peer is the proxy: the client is the one it forwards, and only from it */
    if (srv->trusted_proxy[0] && strcmp(client, srv->trusted_proxy) == 0) {
        char fwd[INET6_ADDRSTRLEN];
        const char *forwarded = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Forwarded");
        if (web_forwarded_client(forwarded,
                                 MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Forwarded-For"), fwd,
                                 sizeof(fwd)))
            memcpy(client, fwd, sizeof(client));
        req.via_proxy = true;
        req.scheme = web_forwarded_proto(
            forwarded, MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Forwarded-Proto"));
    }
    req.method = method;
    req.path = url;
    req.arg = arg_lookup;
    req.arg_ctx = mc;
    req.cookie = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
    req.authorization = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    req.csrf = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-CSRF-Token");
    req.origin = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Origin");
    req.host = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    req.content_type = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    req.file_name = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-File-Name");
    req.doc_number = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Document-Number");
    req.accept_language = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
    req.client = client;
    req.body = up->data;
    req.body_len = up->len;
    req.body_too_large = up->too_large;

    /* static files need no database; everything else takes a connection for the request */
    conn = strncmp(url, "/api/", 5) == 0 || strcmp(url, "/metrics") == 0 ? pool_take(&srv->pool) : NULL;
    if (!conn && (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/metrics") == 0))
        return send_simple(mc, MHD_HTTP_SERVICE_UNAVAILABLE, "{\"error\":\"busy; try again\"}", false);
    web_handle(&srv->web, conn, &req, &resp);
    /* a pooled connection whose server went away (a database restart) fails its first query: once more on a
     * fresh connection when nothing was changed yet (the failure came before the handler, or a read) */
    if (conn && (resp.db_retry || (resp.status == 503 && PQstatus(conn) == CONNECTION_BAD &&
                                   (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)))) {
        PQreset(conn);
        if (PQstatus(conn) == CONNECTION_OK) {
            log_info("http", "database connection renewed");
            web_response_free(&resp);
            web_handle(&srv->web, conn, &req, &resp);
        }
    }
    if (conn) {
        /* a handler that failed mid-transaction must not leave it open for the next request */
        store_rollback(conn);
        pool_give(&srv->pool, conn);
    }
    r = MHD_create_response_from_buffer(resp.len, resp.body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        web_response_free(&resp);
        return MHD_NO;
    }
    resp.body = NULL; /* MHD frees it */
    add_security_headers(r, resp.cacheable);
    if (resp.content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
    if (resp.set_cookie[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, resp.set_cookie);
    if (resp.disposition[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, resp.disposition);
    if (resp.retry_after[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, resp.retry_after);
    if (resp.location[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp.location);
    if (resp.language) {
        /* the same address answers in either language: a cache keeps each apart */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_LANGUAGE, resp.language);
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Language, Cookie");
    }
    if (log_get_level() >= LOG_LEVEL_DEBUG) {
        /* CR and LF in a decoded path would forge log lines */
        char m[32], u[400];
        web_log_text(method, m, sizeof(m));
        web_log_text(url, u, sizeof(u));
        log_debug("http", "%s %s %s -> %d", client, m, u, resp.status);
    }
    ret = MHD_queue_response(mc, (unsigned)resp.status, r);
    MHD_destroy_response(r);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct upload *up = *con_cls;

    (void)toe;
    watch_mark(cls, mc, false);
    if (up) {
        free(up->data);
        free(up);
        *con_cls = NULL;
    }
}

/* "HOST:PORT" or "[V6]:PORT" into a socket address */
static int parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
    char host[64];
    const char *colon;
    char *end;
    long port;

    if (!s)
        return PRODUCER_ERROR_INPUT;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
            return PRODUCER_ERROR_INPUT;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof(host))
            return PRODUCER_ERROR_INPUT;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || !colon[1])
        return PRODUCER_ERROR_INPUT;
    memset(ret, 0, sizeof(*ret));
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return PRODUCER_ERROR_INPUT;
        *ret_len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ret;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return PRODUCER_ERROR_INPUT;
        *ret_len = sizeof(*a);
    }
    return 0;
}

/* A server started in English (LANGUAGE=en) still answers a Chinese browser in Chinese: gettext finds the
 * catalog through the message locale, which i18n_init() prepares only for a Chinese process. The same as it
 * does then, before any request thread starts; English requests never call gettext (i18n_text()). */
static void prepare_chinese(void)
{
    if (i18n_get() != I18N_EN || !i18n_catalog_dir()[0])
        return;
    setlocale(LC_CTYPE, "C.UTF-8");
    if (!setlocale(LC_MESSAGES, "zh_CN.UTF-8"))
        setlocale(LC_MESSAGES, "C.UTF-8");
    setenv("LANGUAGE", "zh_CN", 1);
}

int producer_http_serve(const struct db_config *db, const struct http_config *cfg)
{
    struct server *srv;
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t stop;
    int threads = cfg->threads > 0 && cfg->threads <= POOL_MAX ? cfg->threads : 4, sig = 0;
    /* a thread per connection: a slow request (a password hash, a photo check) holds up no other connection;
     * the database pool of `threads` connections bounds the work that needs the database */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO;
    char host[INET6_ADDRSTRLEN] = "";

    if (parse_listen(cfg->listen, &addr, &addr_len) < 0) {
        log_error("http", "--listen '%s' is not HOST:PORT (for example 127.0.0.1:8080)", cfg->listen);
        return PRODUCER_ERROR_INPUT;
    }
    if (producer_account_init() < 0)
        return PRODUCER_ERROR_NOMEM;
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return PRODUCER_ERROR_NOMEM;
    if (cfg->trusted_proxy && *cfg->trusted_proxy) {
        unsigned char bin[sizeof(struct in6_addr)];
        int af = strchr(cfg->trusted_proxy, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(af, cfg->trusted_proxy, bin) != 1 ||
            !inet_ntop(af, bin, srv->trusted_proxy, sizeof(srv->trusted_proxy))) {
            log_error("http", "--trusted-proxy '%s' is not an IP address", cfg->trusted_proxy);
            free(srv);
            return PRODUCER_ERROR_INPUT;
        }
    }
    web_server_init(&srv->web);
    prepare_chinese();
    /* the Host a request may name: the listen address (every address when listening on all) */
    if (addr.ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)&addr)->sin6_addr;
        inet_ntop(AF_INET6, a6, srv->web.listen_host, sizeof(srv->web.listen_host));
        srv->web.listen_any = IN6_IS_ADDR_UNSPECIFIED(a6);
    } else {
        const struct in_addr *a4 = &((const struct sockaddr_in *)(const void *)&addr)->sin_addr;
        inet_ntop(AF_INET, a4, srv->web.listen_host, sizeof(srv->web.listen_host));
        srv->web.listen_any = a4->s_addr == htonl(INADDR_ANY);
    }
    srv->web.web_dir = cfg->web_dir;
    srv->web.secure_cookies = cfg->secure_cookies;
    (void)web_server_load_checker(&srv->web, NULL); /* without the models, studio uploads answer 503 */
    if (web_server_set_profile(&srv->web, cfg->photo_profile) < 0) {
        web_server_destroy(&srv->web);
        free(srv);
        return PRODUCER_ERROR_INPUT;
    }
    pthread_mutex_init(&srv->pool.lock, NULL);
    pthread_cond_init(&srv->pool.freed, NULL);
    srv->pool.db = db;
    srv->pool.size = threads;
    for (int i = 0; i < threads; i++) {
        srv->pool.conn[i] = producer_db_connect(db);
        if (!srv->pool.conn[i] || PQstatus(srv->pool.conn[i]) != CONNECTION_OK) {
            log_error("http", "cannot connect to the database");
            for (int k = 0; k <= i; k++)
                PQfinish(srv->pool.conn[k]);
            free(srv);
            return PRODUCER_ERROR_DB;
        }
    }
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* the request threads inherit a mask without SIGINT/SIGTERM, so that this thread gets them */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_mutex_init(&srv->watchdog.lock, NULL);
        pthread_cond_init(&srv->watchdog.wake, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (pthread_create(&srv->watchdog.thread, NULL, watchdog_run, &srv->watchdog) != 0) {
        log_error("http", "cannot start the request head watchdog");
        d = NULL;
    } else {
        srv->watchdog.running = true;
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, srv, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, 512u,
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, 128u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                             MHD_OPTION_NOTIFY_COMPLETED, completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
                             connection_notify, srv, MHD_OPTION_END);
        if (!d)
            log_error("http", "cannot listen on %s: %s", cfg->listen, strerror(errno));
    }
    if (!d) {
        watchdog_stop(&srv->watchdog);
        for (int k = 0; k < threads; k++)
            PQfinish(srv->pool.conn[k]);
        web_server_destroy(&srv->web);
        free(srv);
        return PRODUCER_ERROR_IO;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (addr.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, host, sizeof(host));
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, host, sizeof(host));
    printf(addr.ss_family == AF_INET6 ? "listening on http://[%s]:%u/\n" : "listening on http://%s:%u/\n",
           host, info ? info->port : 0);
    fflush(stdout);
    while (sigwait(&stop, &sig) == 0 && sig != SIGINT && sig != SIGTERM)
        ;
    log_info("http", "stopping");
    MHD_stop_daemon(d);
    watchdog_stop(&srv->watchdog);
    for (int k = 0; k < threads; k++)
        PQfinish(srv->pool.conn[k]);
    pthread_cond_destroy(&srv->pool.freed);
    pthread_mutex_destroy(&srv->pool.lock);
    web_server_destroy(&srv->web);
    free(srv);
    return 0;
}
