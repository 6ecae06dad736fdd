/* ctx.c — the refusal message of a domain operation */
#include "base/ctx.h"

#include <stdarg.h>
#include <stdio.h>

int producer_ctx_fail(struct producer_ctx *ctx, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx->message, sizeof(ctx->message), fmt, ap);
    va_end(ap);
    return err;
}
