/* ctx.h — the context every domain operation takes: which connection, who acts, and why it was refused */
#pragma once

#include <libpq-fe.h>

/* The CLI and the web fill one and call the same domain function; actor must be set (it goes into the audit
 * trail); on a refusal the function fills message with a sentence a person can act on (personal data masked).
 */
struct producer_ctx {
    PGconn *conn;
    const char *actor;
    char message[320];
};

/* Fill ctx->message (printf-style) and return err: `return producer_ctx_fail(ctx, DISPATCH_ERROR_STATE,
 * ...)`. */
int producer_ctx_fail(struct producer_ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
