/* account.c — dashboard accounts and sessions: Argon2id password and token hashes (libsodium), session
 * cookies stored as SHA-256 only, CSRF tokens per session */
#include "account/account.h"

#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the slow hashes running in this process (ACCOUNT_HASH_MAX at most) */
static pthread_mutex_t hash_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hash_freed = PTHREAD_COND_INITIALIZER;
static int hash_running;
static int hash_max; /* ACCOUNT_HASH_MAX, but one core left for the rest; set on the first hash_enter */
/* verified against when the name is unknown, so that both answers take the same time */
static char dummy_hash[crypto_pwhash_STRBYTES];

const char *account_strerror(int err)
{
    switch (err) {
    case ACCOUNT_ERROR_DENIED:
        return "wrong name or password, or the account is disabled";
    case ACCOUNT_ERROR_WEAK:
        return "a password needs 10 to 128 characters";
    case ACCOUNT_ERROR_EXISTS:
        return "an account of that name exists";
    case ACCOUNT_ERROR_CRYPTO:
        return "password hashing failed (out of memory?)";
    case ACCOUNT_ERROR_BUSY:
        return "too many sign-ins at once; try again in a moment";
    default:
        return producer_strerror(err);
    }
}

int producer_account_init(void)
{
    return sodium_init() < 0 ? ACCOUNT_ERROR_CRYPTO : 0;
}

/* Take a hash slot, waiting at most wait_ms; false when none came free. */
static bool hash_enter(int wait_ms)
{
    struct timespec until;
    bool ok = true;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&hash_lock);
    if (!hash_max) {
        cpu_set_t set;
        int cores = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
        hash_max = cores - 1 < 1 ? 1 : cores - 1 > ACCOUNT_HASH_MAX ? ACCOUNT_HASH_MAX : cores - 1;
    }
    while (hash_running >= hash_max) {
        if (wait_ms <= 0 || pthread_cond_timedwait(&hash_freed, &hash_lock, &until) == ETIMEDOUT) {
            ok = hash_running < hash_max;
            break;
        }
    }
    if (ok)
        hash_running++;
    pthread_mutex_unlock(&hash_lock);
    return ok;
}

static void hash_leave(void)
{
    pthread_mutex_lock(&hash_lock);
    hash_running--;
    pthread_cond_signal(&hash_freed);
    pthread_mutex_unlock(&hash_lock);
}

bool producer_account_valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n < 2 || n > 32 || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

bool producer_account_valid_role(const char *role)
{
    static const char *const roles[] = {"operator", "studio", "dispatch", "auditor", "admin"};

    for (size_t i = 0; role && i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcmp(role, roles[i]) == 0)
            return true;
    }
    return false;
}

bool producer_account_valid_studio(const char *studio)
{
    size_t n = studio ? strlen(studio) : 0;

    return n >= 1 && n <= 32 &&
           strspn(studio, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

void producer_account_random_hex(char *out, size_t n)
{
    unsigned char buf[64];

    if (n > sizeof(buf))
        n = sizeof(buf);
    randombytes_buf(buf, n);
    sodium_bin2hex(out, 2 * n + 1, buf, n);
    sodium_memzero(buf, sizeof(buf));
}

bool producer_account_secret_eq(const char *a, const char *b)
{
    size_t n = strlen(a);

    return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(md, (const unsigned char *)s, strlen(s));
    sodium_bin2hex(out, 65, md, sizeof(md));
}

static int slow_hash(const char *secret, char out[crypto_pwhash_STRBYTES])
{
    if (crypto_pwhash_str(out, secret, strlen(secret), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return ACCOUNT_ERROR_CRYPTO;
    return 0;
}

static int check_password(const char *password)
{
    size_t n = password ? strlen(password) : 0;

    return n < ACCOUNT_PASSWORD_MIN || n > ACCOUNT_PASSWORD_MAX ? ACCOUNT_ERROR_WEAK : 0;
}

int producer_account_add(PGconn *conn, const char *name, const char *role, const char *studio,
                         const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    const char *p[4] = {name, role, studio && *studio ? studio : NULL, hash};
    PGresult *res;
    int r;

    if (!producer_account_valid_name(name) || !producer_account_valid_role(role) ||
        (strcmp(role, "studio") == 0) != (studio && *studio) ||
        (studio && *studio && !producer_account_valid_studio(studio)))
        return PRODUCER_ERROR_INPUT;
    if ((r = check_password(password)) < 0 || (r = slow_hash(password, hash)) < 0)
        return r;
    res = db_exec(conn, "INSERT INTO account (name, role, studio, password_hash) VALUES ($1, $2, $3, $4)", 4,
                  p);
    r = db_ok(res) ? 0 : strcmp(db_sqlstate(res), "23505") == 0 ? ACCOUNT_ERROR_EXISTS : PRODUCER_ERROR_DB;
    if (r == PRODUCER_ERROR_DB)
        log_error("account", "add %s: %s", name, PQresultErrorMessage(res));
    PQclear(res);
    return r;
}

static int update_one(PGconn *conn, const char *ctx, const char *sql, int n, const char *const *params)
{
    PGresult *res = db_exec(conn, sql, n, params);
    int r = !db_ok(res) ? PRODUCER_ERROR_DB : atoi(PQcmdTuples(res)) == 1 ? 0 : PRODUCER_ERROR_NOT_FOUND;

    if (r == PRODUCER_ERROR_DB)
        log_error("account", "%s: %s", ctx, PQresultErrorMessage(res));
    PQclear(res);
    return r;
}

int producer_account_set_password(PGconn *conn, const char *name, const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    const char *p[2] = {name, hash};
    int r;

    if ((r = check_password(password)) < 0 || (r = slow_hash(password, hash)) < 0)
        return r;
    r = update_one(conn, "set password", "UPDATE account SET password_hash = $2 WHERE name = $1", 2, p);
    /* a new password ends the sessions opened with the old one */
    if (r == 0)
        r = db_command(conn, "end sessions",
                       "DELETE FROM session WHERE account_id = (SELECT id FROM account WHERE name = $1)", 1,
                       p);
    return r;
}

int producer_account_disable(PGconn *conn, const char *name)
{
    const char *p[1] = {name};
    int r = update_one(conn, "disable",
                       "UPDATE account SET disabled_at = coalesce(disabled_at, clock_now()), token_id = NULL, "
                       "token_hash = NULL WHERE name = $1",
                       1, p);

    if (r == 0)
        r = db_command(conn, "end sessions",
                       "DELETE FROM session WHERE account_id = (SELECT id FROM account WHERE name = $1)", 1,
                       p);
    return r;
}

int producer_account_new_token(PGconn *conn, const char *name, char ret_token[ACCOUNT_TOKEN_LEN])
{
    char id[17], secret[65], token[ACCOUNT_TOKEN_LEN], hash[crypto_pwhash_STRBYTES];
    const char *p[3] = {name, id, hash};
    int r;

    producer_account_random_hex(id, 8);
    producer_account_random_hex(secret, 32);
    snprintf(token, sizeof(token), "%s.%s", id, secret);
    if ((r = slow_hash(token, hash)) < 0)
        return r;
    r = update_one(
        conn, "new token",
        "UPDATE account SET token_id = $2, token_hash = $3 WHERE name = $1 AND disabled_at IS NULL", 3, p);
    if (r == 0)
        memcpy(ret_token, token, sizeof(token));
    sodium_memzero(token, sizeof(token));
    sodium_memzero(secret, sizeof(secret));
    return r;
}

int producer_account_list_json(PGconn *conn, json_object **ret)
{
    PGresult *res =
        db_exec(conn,
                "SELECT name, role, coalesce(studio, ''), disabled_at IS NOT NULL, token_id IS NOT NULL, "
                "  to_char(created_at, 'YYYY-MM-DD HH24:MI'), "
                "  coalesce(to_char(last_login_at, 'YYYY-MM-DD HH24:MI'), '') "
                "FROM account ORDER BY name",
                0, NULL);
    json_object *a;

    if (!db_ok(res)) {
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    a = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(PQgetvalue(res, i, 0)));
        json_object_object_add(o, "role", json_object_new_string(PQgetvalue(res, i, 1)));
        if (PQgetvalue(res, i, 2)[0])
            json_object_object_add(o, "studio", json_object_new_string(PQgetvalue(res, i, 2)));
        json_object_object_add(o, "disabled", json_object_new_boolean(PQgetvalue(res, i, 3)[0] == 't'));
        json_object_object_add(o, "token", json_object_new_boolean(PQgetvalue(res, i, 4)[0] == 't'));
        json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(res, i, 5)));
        if (PQgetvalue(res, i, 6)[0])
            json_object_object_add(o, "last_login_at", json_object_new_string(PQgetvalue(res, i, 6)));
        json_object_array_add(a, o);
    }
    PQclear(res);
    *ret = a;
    return 0;
}

static void fill_identity(PGresult *res, int off, struct account_identity *ret)
{
    ret->id = atoll(PQgetvalue(res, 0, off));
    snprintf(ret->name, sizeof(ret->name), "%s", PQgetvalue(res, 0, off + 1));
    snprintf(ret->role, sizeof(ret->role), "%s", PQgetvalue(res, 0, off + 2));
    snprintf(ret->studio, sizeof(ret->studio), "%s", PQgetvalue(res, 0, off + 3));
}

int producer_account_login(PGconn *conn, const char *name, const char *password, const char *client,
                           struct account_identity *ret, char ret_session[ACCOUNT_SECRET_HEX],
                           char ret_csrf[ACCOUNT_SECRET_HEX])
{
    char session[ACCOUNT_SECRET_HEX], session_hash[65], csrf[ACCOUNT_SECRET_HEX], id[24];
    const char *p[1] = {name};
    struct account_identity who;
    PGresult *res;
    bool ok = false;
    int r;

    if (!name || !password || strlen(password) > ACCOUNT_PASSWORD_MAX || strlen(name) > 32)
        return ACCOUNT_ERROR_DENIED;
    if (!hash_enter(0))
        return ACCOUNT_ERROR_BUSY;
    pthread_mutex_lock(&hash_lock);
    r = dummy_hash[0] || slow_hash("cardline-dummy-password", dummy_hash) == 0 ? 0 : ACCOUNT_ERROR_CRYPTO;
    pthread_mutex_unlock(&hash_lock);
    if (r < 0) {
        hash_leave();
        return r;
    }
    res = db_exec(conn,
                  "SELECT password_hash, id, name, role, coalesce(studio, '') FROM account "
                  "WHERE name = $1 AND disabled_at IS NULL",
                  1, p);
    if (!db_ok(res)) {
        PQclear(res);
        hash_leave();
        return PRODUCER_ERROR_DB;
    }
    if (PQntuples(res) == 1) {
        ok = crypto_pwhash_str_verify(PQgetvalue(res, 0, 0), password, strlen(password)) == 0;
        fill_identity(res, 1, &who);
    } else {
        if (crypto_pwhash_str_verify(dummy_hash, password, strlen(password)) == 0)
            log_debug("account", "the dummy password was guessed");
    }
    PQclear(res);
    hash_leave();
    if (!ok)
        return ACCOUNT_ERROR_DENIED;

    producer_account_random_hex(session, 32);
    producer_account_random_hex(csrf, 32);
    sha256_hex(session, session_hash);
    snprintf(id, sizeof(id), "%lld", (long long)who.id);
    {
        const char *ps[4] = {session_hash, id, csrf, client};
        r = db_command(
            conn, "open session",
            "INSERT INTO session (id_hash, account_id, csrf, expires_at, client) VALUES ($1, $2, $3, "
            "clock_now() + make_interval(hours => (SELECT value::integer FROM setting WHERE key = "
            "'session_hours')), left($4, 100))",
            4, ps);
    }
    if (r == 0) {
        const char *pl[1] = {id};
        db_command(conn, "last login", "UPDATE account SET last_login_at = clock_now() WHERE id = $1", 1, pl);
        /* expired sessions go when someone signs in: no timer needed */
        db_command(conn, "expire sessions", "DELETE FROM session WHERE expires_at < clock_now()", 0, NULL);
        *ret = who;
        memcpy(ret_session, session, ACCOUNT_SECRET_HEX);
        memcpy(ret_csrf, csrf, ACCOUNT_SECRET_HEX);
    }
    sodium_memzero(session, sizeof(session));
    return r;
}

static bool is_hex(const char *s, size_t n)
{
    return s && strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

int producer_account_session(PGconn *conn, const char *session, struct account_identity *ret,
                             char ret_csrf[ACCOUNT_SECRET_HEX])
{
    char hash[65];
    const char *p[1] = {hash};
    PGresult *res;
    int r = ACCOUNT_ERROR_DENIED;

    if (!is_hex(session, 64))
        return ACCOUNT_ERROR_DENIED;
    sha256_hex(session, hash);
    res = db_exec(conn,
                  "SELECT s.csrf, a.id, a.name, a.role, coalesce(a.studio, '') FROM session s "
                  "JOIN account a ON a.id = s.account_id "
                  "WHERE s.id_hash = $1 AND s.expires_at > clock_now() AND a.disabled_at IS NULL",
                  1, p);
    if (!db_ok(res))
        r = PRODUCER_ERROR_DB;
    else if (PQntuples(res) == 1) {
        fill_identity(res, 1, ret);
        snprintf(ret_csrf, ACCOUNT_SECRET_HEX, "%s", PQgetvalue(res, 0, 0));
        r = 0;
    }
    PQclear(res);
    return r;
}

int producer_account_logout(PGconn *conn, const char *session)
{
    char hash[65];
    const char *p[1] = {hash};

    if (!is_hex(session, 64))
        return 0;
    sha256_hex(session, hash);
    return db_command(conn, "logout", "DELETE FROM session WHERE id_hash = $1", 1, p);
}

int producer_account_token(PGconn *conn, const char *token, struct account_identity *ret)
{
    char id[17];
    const char *p[1] = {id};
    PGresult *res;
    int r = ACCOUNT_ERROR_DENIED;

    if (!token || strlen(token) != ACCOUNT_TOKEN_LEN - 1 || token[16] != '.' || !is_hex(token + 17, 64))
        return ACCOUNT_ERROR_DENIED;
    memcpy(id, token, 16);
    id[16] = '\0';
    if (!is_hex(id, 16))
        return ACCOUNT_ERROR_DENIED;
    res = db_exec(conn,
                  "SELECT token_hash, id, name, role, coalesce(studio, '') FROM account "
                  "WHERE token_id = $1 AND disabled_at IS NULL",
                  1, p);
    if (!db_ok(res)) {
        r = PRODUCER_ERROR_DB;
    } else if (PQntuples(res) == 1) {
        if (!hash_enter(ACCOUNT_TOKEN_WAIT_MS)) {
            r = ACCOUNT_ERROR_BUSY;
        } else {
            if (crypto_pwhash_str_verify(PQgetvalue(res, 0, 0), token, strlen(token)) == 0) {
                fill_identity(res, 1, ret);
                r = 0;
            }
            hash_leave();
        }
    }
    PQclear(res);
    return r;
}
