/* fuzz_web.c — fuzz target for what the dashboard parses from a request: the route, path segments, query,
 * cookie, headers, JSON bodies and scanned labels. Input: METHOD-BYTE then newline-separated path, query,
 * cookie, content type, CSRF, origin, host, authorization; the rest is the body. No database: handlers that
 * need one answer 503 after every check that comes before the database. */
#include "dispatch.h"
#include "web.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *query_arg(void *ctx, const char *key)
{
    static _Thread_local char value[256];

    return web_query_get(ctx, key, value, sizeof(value)) ? value : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"};
    char *fields[8] = {0}, *copy, *p, *end;
    struct web_server server;
    struct web_request req;
    struct web_response resp;
    char out[128], why[160], id[19];
    json_object *o;

    if (size < 1 || size > 1u << 20)
        return 0;
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
    req.host = fields[6];
    req.authorization = fields[7];
    req.client = "127.0.0.1";
    req.body = (const uint8_t *)p;
    req.body_len = (size_t)(end - p);
    req.body_too_large = (data[0] & 0x80) != 0;
    web_server_init(&server);
    web_handle(&server, NULL, &req, &resp);
    web_response_free(&resp);
    web_server_destroy(&server);

    /* the parsers the handlers use once a database is there */
    o = web_parse_json(req.body, req.body_len, why, sizeof(why));
    json_object_put(o);
    web_cookie_get(fields[2], "cardline_session", out, sizeof(out));
    web_query_get(fields[1], "application", out, sizeof(out));
    web_text_ok(fields[0], 256);
    producer_dispatch_parse_label(fields[0], id);
    free(copy);
    return 0;
}
