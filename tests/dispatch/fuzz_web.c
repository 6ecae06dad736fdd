/* fuzz_web.c — fuzz target for what the dashboard does with a request: the route, path segments, query,
 * cookie, headers, JSON bodies and scanned labels, and — when CARDLINE_FUZZ_DB names a PostgreSQL cluster —
 * the handlers themselves, signed in, against a fresh database made from its migrated template.
 *
 * Input: METHOD-BYTE then newline-separated path, query, cookie, content type, CSRF, origin, host,
 * authorization; the rest is the body. A cookie field "@operator" (or @dispatch, @auditor, @admin, @studio)
 * stands for the live session of a signed-in account of that role, a CSRF field "@" for that session's token.
 *
 * Environment: CARDLINE_FUZZ_DB, the conninfo of a cluster (no dbname; `cardline db conninfo` prints one)
 * that holds CARDLINE_FUZZ_TEMPLATE (default cardline_template), a migrated database. Without it, handlers
 * that need the database answer 503 after every check that comes before it. FUZZ_WEB_TRACE=1 prints the
 * status of every request. */
#include "account/account.h"
#include "dispatch/dispatch.h"
#include "base/log.h"
#include "producer.h"
#include "web/web.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* checked in every build type */
#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "fuzz_web: " __VA_ARGS__);                                                       \
            fputc('\n', stderr);                                                                             \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

#define FUZZ_ROLES 5

static const char *const roles[FUZZ_ROLES] = {"operator", "dispatch", "auditor", "admin", "studio"};

struct fuzz_db {
    PGconn *conn;
    char base[512];
    char name[64];
    struct {
        char account[40];
        char password[64];
        char session[ACCOUNT_SECRET_HEX];
        char csrf[ACCOUNT_SECRET_HEX];
        int generation; /* a new account after an admin disabled the last one */
    } who[FUZZ_ROLES];
};

static struct fuzz_db db;
static int db_state; /* 0 not tried, 1 connected, -1 none */

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *connect_to(const char *dbname)
{
    char conninfo[640];
    PGconn *c;

    snprintf(conninfo, sizeof(conninfo), "%s dbname=%s", db.base, dbname);
    c = PQconnectdb(conninfo);
    CHECK(PQstatus(c) == CONNECTION_OK, "cannot connect to %s: %s", dbname, PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

static void admin_sql(const char *sql)
{
    PGconn *c = connect_to("postgres");
    PGresult *res = PQexec(c, sql);

    CHECK(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
}

static void drop_database(void)
{
    char sql[128];

    if (db_state != 1)
        return;
    PQfinish(db.conn);
    db.conn = NULL;
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db.name);
    admin_sql(sql);
}

/* Signs the role's account in (adding it first, or a fresh one when it was disabled). */
static void sign_in(int i)
{
    struct account_identity who;

    for (int tries = 0; tries < 3; tries++) {
        if (db.who[i].account[0] &&
            producer_account_login(db.conn, db.who[i].account, db.who[i].password, "fuzz", &who,
                                   db.who[i].session, db.who[i].csrf) == 0)
            return;
        char name[sizeof(db.who[i].account)];
        snprintf(name, sizeof(name), "fz-%s-%d", roles[i], db.who[i].generation++);
        snprintf(db.who[i].account, sizeof(db.who[i].account), "%s", name);
        snprintf(db.who[i].password, sizeof(db.who[i].password), "password-of-%s", name);
        CHECK(producer_account_add(db.conn, db.who[i].account, roles[i],
                                   strcmp(roles[i], "studio") ? NULL : "FZ", db.who[i].password) == 0,
              "cannot add account %s", db.who[i].account);
    }
    CHECK(0, "cannot sign in as %s", roles[i]);
}

static void setup_db(void)
{
    const char *base = getenv("CARDLINE_FUZZ_DB"), *template = getenv("CARDLINE_FUZZ_TEMPLATE");
    struct producer_gen_config gen = {.count = 6, .seed = 7, .defects = 2};
    char sql[256];

    db_state = -1;
    if (!base || !*base) {
        fprintf(stderr, "fuzz_web: CARDLINE_FUZZ_DB is not set: no database, handlers answer 503\n");
        return;
    }
    snprintf(db.base, sizeof(db.base), "%s", base);
    snprintf(db.name, sizeof(db.name), "fuzz_web_%ld", (long)getpid());
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db.name);
    admin_sql(sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", db.name,
             template && *template ? template : "cardline_template");
    admin_sql(sql);
    db_state = 1;
    atexit(drop_database);
    db.conn = connect_to(db.name);
    CHECK(producer_account_init() == 0, "libsodium");
    /* the handlers' info lines (sign-ins, accounts added) would drown libFuzzer's own output */
    log_set_level(LOG_LEVEL_WARN);
    /* a few outlets and applications, some held, so that the read models have rows */
    CHECK(producer_gen_applications(db.conn, &gen) >= 0, "cannot generate applications");
    for (int i = 0; i < FUZZ_ROLES; i++)
        sign_in(i);
    fprintf(stderr, "fuzz_web: handlers run against database %s\n", db.name);
}

static int role_of(const char *field)
{
    if (field[0] != '@')
        return -1;
    for (int i = 0; i < FUZZ_ROLES; i++) {
        if (strcmp(field + 1, roles[i]) == 0)
            return i;
    }
    return -1;
}

/* Like libmicrohttpd's lookup, each value stays valid while the request is handled: a handler reads several
 * arguments before using them, so one shared buffer would hand it the last one under every name. */
static const char *query_arg(void *ctx, const char *key)
{
    static _Thread_local char value[8][256];
    static _Thread_local unsigned next;
    char *v = value[next++ % 8];

    return web_query_get(ctx, key, v, sizeof(value[0])) ? v : NULL;
}

/* libFuzzer calls this before it times inputs: the slow password hashes of the sign-ins and the generated
 * applications do not count against -timeout. The replay driver does not; the first input sets up then. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (db_state == 0)
        setup_db();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"};
    char *fields[8] = {0}, *copy, *p, *end;
    char cookie[128], out[128], why[160], id[19];
    struct web_server server;
    struct web_request req;
    struct web_response resp;
    struct account_identity who;
    json_object *o;
    int as = -1;

    if (size < 1 || size > 1u << 20)
        return 0;
    if (db_state == 0)
        setup_db();
    copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    p = copy;
    end = copy + size - 1;
    for (int i = 0; i < 8; i++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        fields[i] = p;
        if (!nl) {
            p = end;
            for (int k = i + 1; k < 8; k++)
                fields[k] = end;
            break;
        }
        *nl = '\0';
        p = nl + 1;
    }

    memset(&req, 0, sizeof(req));
    req.method = methods[data[0] % 6];
    req.path = fields[0];
    req.arg = query_arg;
    req.arg_ctx = fields[1];
    req.cookie = fields[2];
    req.content_type = fields[3];
    req.csrf = fields[4];
    req.origin = fields[5];
    req.host =
        *fields[6] ? fields[6] : NULL; /* an empty field: no Host header (HTTP/1.0), not an empty one */
    req.authorization = fields[7];
    req.client = "127.0.0.1";
    req.body = (const uint8_t *)p;
    req.body_len = (size_t)(end - p);
    req.body_too_large = (data[0] & 0x80) != 0;
    if (db_state == 1 && (as = role_of(fields[2])) >= 0) {
        /* an earlier input may have signed this session out */
        if (producer_account_session(db.conn, db.who[as].session, &who, db.who[as].csrf) < 0)
            sign_in(as);
        snprintf(cookie, sizeof(cookie), "cardline_session=%s", db.who[as].session);
        req.cookie = cookie;
        if (strcmp(fields[4], "@") == 0)
            req.csrf = db.who[as].csrf;
    }
    web_server_init(&server);
    web_handle(&server, db_state == 1 ? db.conn : NULL, &req, &resp);
    if (getenv("FUZZ_WEB_TRACE"))
        fprintf(stderr, "fuzz_web: %d %s %s%s%s\n", resp.status, req.method, req.path, as >= 0 ? " as " : "",
                as >= 0 ? roles[as] : "");
    CHECK(resp.status >= 200 && resp.status <= 599, "status %d for %s %s", resp.status, req.method, req.path);
    if (db_state == 1) {
        /* a signed-in request is never refused for want of a session, and no input breaks a handler; a bearer
         * token presented as well is what counts (RFC 6750), so a bad one is a 401 whatever the cookie says */
        CHECK(as < 0 || strncmp(req.authorization, "Bearer ", 7) == 0 || resp.status != 401,
              "signed in as %s, got 401 for %s %s", roles[as], req.method, req.path);
        CHECK(resp.status != 500, "500 for %s %s: %.*s", req.method, req.path,
              (int)(resp.len < 200 ? resp.len : 200), resp.body ? (const char *)resp.body : "");
        /* every handler ends its transaction, whatever happened */
        if (PQstatus(db.conn) != CONNECTION_OK)
            PQreset(db.conn);
        CHECK(PQtransactionStatus(db.conn) == PQTRANS_IDLE, "transaction left open by %s %s", req.method,
              req.path);
    }
    web_response_free(&resp);
    web_host_ok(&server, fields[6]);
    web_server_destroy(&server);

    /* the parsers the handlers use, on their own */
    o = web_parse_json(req.body, req.body_len, why, sizeof(why));
    json_object_put(o);
    web_cookie_get(fields[2], "cardline_session", out, sizeof(out));
    web_query_get(fields[1], "application", out, sizeof(out));
    web_text_ok(fields[0], 256);
    producer_dispatch_parse_label(fields[0], id);
    {
        /* request data escaped for the log never breaks a line; a forwarded scheme is one of two */
        char line[128];
        const char *proto = web_forwarded_proto(fields[5], fields[7]);
        CHECK(!proto || strcmp(proto, "http") == 0 || strcmp(proto, "https") == 0, "forwarded scheme %s",
              proto);
        web_log_text(fields[0], line, sizeof(line));
        CHECK(!strpbrk(line, "\r\n") && strlen(line) < sizeof(line), "log text '%s'", line);
    }
    free(copy);
    return 0;
}
