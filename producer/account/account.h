/* account.h — dashboard accounts: roles, slow password and token hashes (libsodium Argon2id), sessions */
#pragma once

#include "store/db.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

enum account_error {
    ACCOUNT_ERROR_DENIED = -1430, /* wrong name, password, token or session; disabled account */
    ACCOUNT_ERROR_WEAK = -1431,   /* password too short or too long */
    ACCOUNT_ERROR_EXISTS = -1432, /* the name is taken */
    ACCOUNT_ERROR_CRYPTO = -1433, /* libsodium failed (out of memory for the hash) */
    ACCOUNT_ERROR_BUSY = -1434,   /* ACCOUNT_HASH_MAX slow hashes already run in this process: try again */
};

const char *account_strerror(int err);

#define ACCOUNT_PASSWORD_MIN 10
#define ACCOUNT_PASSWORD_MAX 128
#define ACCOUNT_SECRET_HEX   65 /* 32 random bytes as hex + NUL: session cookies, CSRF tokens */
#define ACCOUNT_TOKEN_LEN    82 /* "<16 hex>.<64 hex>" + NUL */
/* Argon2id hashes running at once in one process: each takes 64 MiB and a core for a tenth of a second, so a
 * burst of sign-ins must not take every request thread, core and the memory (the rest wait or are told to).
 * Fewer on a small machine: one core is always left for the other pages. */
#define ACCOUNT_HASH_MAX      2
#define ACCOUNT_TOKEN_WAIT_MS 2000 /* an API token check waits this long for a free hash slot */
/* Live sessions per account: a new sign-in past it ends the oldest, so that sessions cannot pile up */
#define ACCOUNT_SESSIONS_MAX 10

struct account_identity {
    int64_t id;
    char name[40];
    char role[16];
    char studio[40]; /* "" unless role studio */
};

/* Once per process before any other call; 0 or ACCOUNT_ERROR_CRYPTO. */
int producer_account_init(void);
bool producer_account_valid_name(const char *name);
bool producer_account_valid_role(const char *role);
bool producer_account_valid_studio(const char *studio);

int producer_account_add(PGconn *conn, const char *name, const char *role, const char *studio,
                         const char *password);
/* A new password also ends the account's sessions and revokes its API token. */
int producer_account_set_password(PGconn *conn, const char *name, const char *password);
/* Disabling also ends the account's sessions and revokes its token. */
int producer_account_disable(PGconn *conn, const char *name);
/* A new API token replaces the old one; the token is shown once and stored hashed. */
int producer_account_new_token(PGconn *conn, const char *name, char ret_token[ACCOUNT_TOKEN_LEN]);
int producer_account_list_json(PGconn *conn, json_object **ret);

/* Check a password (always spends one slow hash, also for unknown names) and open a session for `hours`.
 * Returns 0 with the identity, the session cookie value and its CSRF token, ACCOUNT_ERROR_DENIED, or
 * ACCOUNT_ERROR_BUSY at once when ACCOUNT_HASH_MAX hashes (fewer on a machine with fewer than 3 cores)
 * already run: waiting here would hold a database connection the other pages need; the client tries again
 * after Retry-After. */
int producer_account_login(PGconn *conn, const char *name, const char *password, const char *client,
                           struct account_identity *ret, char ret_session[ACCOUNT_SECRET_HEX],
                           char ret_csrf[ACCOUNT_SECRET_HEX]);
/* The session named by a cookie value, if it is live and its account enabled. */
int producer_account_session(PGconn *conn, const char *session, struct account_identity *ret,
                             char ret_csrf[ACCOUNT_SECRET_HEX]);
int producer_account_logout(PGconn *conn, const char *session);
/* An API token "<id>.<secret>" (slow hash check; ACCOUNT_ERROR_BUSY after ACCOUNT_TOKEN_WAIT_MS without a
 * free hash slot). */
int producer_account_token(PGconn *conn, const char *token, struct account_identity *ret);
/* Random bytes as lowercase hex (2 * n + 1 bytes of out). */
void producer_account_random_hex(char *out, size_t n);
/* Constant-time comparison of two NUL-terminated secrets. */
bool producer_account_secret_eq(const char *a, const char *b);
