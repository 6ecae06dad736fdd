/* accounts.h (store) — dashboard accounts, their password and token hashes, and sessions */
#pragma once

#include "store/db.h"

#include <json-c/json.h>
#include <stdint.h>

/* An enabled account as the sign-in checks need it; secret is the stored hash (password or token) or, for a
 * session, its CSRF token. */
struct store_account {
    int64_t id;
    char name[40];
    char role[16];
    char studio[40]; /* "" unless role studio */
    char secret[256];
};

/* 0; PRODUCER_ERROR_INPUT when the name is taken; PRODUCER_ERROR_DB. studio NULL or "" for none. */
int store_accounts_add(PGconn *conn, const char *name, const char *role, const char *studio,
                       const char *password_hash);
/* These return 1 when the account was changed, 0 when there is no such account (new_token: or it is
 * disabled), PRODUCER_ERROR_DB. A new password also revokes the API token. */
int store_accounts_set_password(PGconn *conn, const char *name, const char *password_hash);
int store_accounts_disable(PGconn *conn, const char *name);
int store_accounts_set_token(PGconn *conn, const char *name, const char *token_id, const char *token_hash);
/* End every session of the account. */
int store_accounts_end_sessions(PGconn *conn, const char *name);

/* [{name, role, studio?, disabled, token, created_at, last_login_at?}] by name */
int store_accounts_list_json(PGconn *conn, json_object **ret);

/* 1 and *ret (secret: the password hash / the token hash / the session's CSRF token) when an enabled account
 * matches, 0 when none, PRODUCER_ERROR_DB. */
int store_accounts_by_name(PGconn *conn, const char *name, struct store_account *ret);
int store_accounts_by_token(PGconn *conn, const char *token_id, struct store_account *ret);
int store_accounts_by_session(PGconn *conn, const char *session_hash, struct store_account *ret);

/* A session for the account, valid for setting session_hours; the account's oldest sessions end so that it
 * keeps at most max_sessions (this one included). */
int store_accounts_open_session(PGconn *conn, const char *session_hash, int64_t account_id, const char *csrf,
                                const char *client, int max_sessions);
/* After a sign-in: the account's last sign-in time, and expired sessions go (no timer needed). Failures only
 * logged at debug: the sign-in stands. */
void store_accounts_signed_in(PGconn *conn, int64_t account_id);
int store_accounts_logout(PGconn *conn, const char *session_hash);
