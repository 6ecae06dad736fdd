/* account.c — dashboard accounts and sessions: Argon2id password and token hashes (libsodium), session
 * cookies stored as SHA-256 only, CSRF tokens per session */
#include "account/account.h"

#include "base/i18n.h"
#include "base/log.h"
#include "store/accounts.h"

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
        return _("wrong name or password, or the account is disabled");
    case ACCOUNT_ERROR_WEAK:
        return _("a password needs 10 to 128 characters");
    case ACCOUNT_ERROR_EXISTS:
        return _("an account of that name exists");
    case ACCOUNT_ERROR_CRYPTO:
        return _("password hashing failed (out of memory?)");
    case ACCOUNT_ERROR_BUSY:
        return _("too many sign-ins at once; try again in a moment");
    default:
        return _(producer_strerror(err));
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
    int r;

    if (!producer_account_valid_name(name) || !producer_account_valid_role(role) ||
        (strcmp(role, "studio") == 0) != (studio && *studio) ||
        (studio && *studio && !producer_account_valid_studio(studio)))
        return PRODUCER_ERROR_INPUT;
    if ((r = check_password(password)) < 0 || (r = slow_hash(password, hash)) < 0)
        return r;
    r = store_accounts_add(conn, name, role, studio, hash);
    return r == PRODUCER_ERROR_INPUT ? ACCOUNT_ERROR_EXISTS : r;
}

/* a store change's 1 (changed) / 0 (no such account) as 0 / PRODUCER_ERROR_NOT_FOUND */
static int one_changed(int r)
{
    return r < 0 ? r : r == 1 ? 0 : PRODUCER_ERROR_NOT_FOUND;
}

int producer_account_set_password(PGconn *conn, const char *name, const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    int r;

    if ((r = check_password(password)) < 0 || (r = slow_hash(password, hash)) < 0)
        return r;
    r = one_changed(store_accounts_set_password(conn, name, hash));
    /* a new password ends the sessions opened with the old one (the store revoked the API token with it) */
    if (r == 0)
        r = store_accounts_end_sessions(conn, name);
    return r;
}

int producer_account_disable(PGconn *conn, const char *name)
{
    int r = one_changed(store_accounts_disable(conn, name));

    if (r == 0)
        r = store_accounts_end_sessions(conn, name);
    return r;
}

int producer_account_new_token(PGconn *conn, const char *name, char ret_token[ACCOUNT_TOKEN_LEN])
{
    char id[17], secret[65], token[ACCOUNT_TOKEN_LEN], hash[crypto_pwhash_STRBYTES];
    int r;

    producer_account_random_hex(id, 8);
    producer_account_random_hex(secret, 32);
    snprintf(token, sizeof(token), "%s.%s", id, secret);
    if ((r = slow_hash(token, hash)) < 0)
        return r;
    r = one_changed(store_accounts_set_token(conn, name, id, hash));
    if (r == 0)
        memcpy(ret_token, token, sizeof(token));
    sodium_memzero(token, sizeof(token));
    sodium_memzero(secret, sizeof(secret));
    return r;
}

int producer_account_list_json(PGconn *conn, json_object **ret)
{
    return store_accounts_list_json(conn, ret);
}

static void fill_identity(const struct store_account *a, struct account_identity *ret)
{
    ret->id = a->id;
    snprintf(ret->name, sizeof(ret->name), "%s", a->name);
    snprintf(ret->role, sizeof(ret->role), "%s", a->role);
    snprintf(ret->studio, sizeof(ret->studio), "%s", a->studio);
}

int producer_account_login(PGconn *conn, const char *name, const char *password, const char *client,
                           struct account_identity *ret, char ret_session[ACCOUNT_SECRET_HEX],
                           char ret_csrf[ACCOUNT_SECRET_HEX])
{
    char session[ACCOUNT_SECRET_HEX], session_hash[65], csrf[ACCOUNT_SECRET_HEX];
    struct account_identity who;
    struct store_account a;
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
    r = store_accounts_by_name(conn, name, &a);
    if (r < 0) {
        hash_leave();
        return r;
    }
    if (r == 1) {
        ok = crypto_pwhash_str_verify(a.secret, password, strlen(password)) == 0;
        fill_identity(&a, &who);
    } else {
        if (crypto_pwhash_str_verify(dummy_hash, password, strlen(password)) == 0)
            log_debug("account", "the dummy password was guessed");
    }
    sodium_memzero(a.secret, sizeof(a.secret));
    hash_leave();
    if (!ok)
        return ACCOUNT_ERROR_DENIED;

    producer_account_random_hex(session, 32);
    producer_account_random_hex(csrf, 32);
    sha256_hex(session, session_hash);
    r = store_accounts_open_session(conn, session_hash, who.id, csrf, client, ACCOUNT_SESSIONS_MAX);
    if (r == 0) {
        store_accounts_signed_in(conn, who.id);
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
    struct store_account a;
    int r;

    if (!is_hex(session, 64))
        return ACCOUNT_ERROR_DENIED;
    sha256_hex(session, hash);
    r = store_accounts_by_session(conn, hash, &a);
    if (r < 0)
        return r;
    if (r == 0)
        return ACCOUNT_ERROR_DENIED;
    fill_identity(&a, ret);
    snprintf(ret_csrf, ACCOUNT_SECRET_HEX, "%.64s", a.secret);
    return 0;
}

int producer_account_logout(PGconn *conn, const char *session)
{
    char hash[65];

    if (!is_hex(session, 64))
        return 0;
    sha256_hex(session, hash);
    return store_accounts_logout(conn, hash);
}

int producer_account_token(PGconn *conn, const char *token, struct account_identity *ret)
{
    char id[17];
    struct store_account a;
    int r;

    if (!token || strlen(token) != ACCOUNT_TOKEN_LEN - 1 || token[16] != '.' || !is_hex(token + 17, 64))
        return ACCOUNT_ERROR_DENIED;
    memcpy(id, token, 16);
    id[16] = '\0';
    if (!is_hex(id, 16))
        return ACCOUNT_ERROR_DENIED;
    r = store_accounts_by_token(conn, id, &a);
    if (r < 0)
        return r;
    if (r == 0)
        return ACCOUNT_ERROR_DENIED;
    if (!hash_enter(ACCOUNT_TOKEN_WAIT_MS))
        return ACCOUNT_ERROR_BUSY;
    r = ACCOUNT_ERROR_DENIED;
    if (crypto_pwhash_str_verify(a.secret, token, strlen(token)) == 0) {
        fill_identity(&a, ret);
        r = 0;
    }
    hash_leave();
    return r;
}
