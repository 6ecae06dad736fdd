/* web_parse.c — bounded parsers for what a browser sends: cookies, query strings, JSON bodies, text fields */
#include "web/web.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

bool web_text_ok(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    if (!s)
        return false;
    while (*p) {
        size_t len;
        if (*p < 0x20 || *p == 0x7f)
            return false;
        if (*p < 0x80)
            len = 1;
        else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
            len = 2;
        else if ((*p & 0xf0) == 0xe0)
            len = 3;
        else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
            len = 4;
        else
            return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
        }
        /* overlong 3-byte forms and UTF-16 surrogates */
        if (len == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
            return false;
        if (len == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
            return false;
        p += len;
        n += len;
        if (n > max)
            return false;
    }
    return true;
}

bool web_cookie_get(const char *header, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    const char *p = header;

    if (!header || size == 0)
        return false;
    while (*p) {
        const char *end;
        size_t vlen;
        while (*p == ' ' || *p == ';')
            p++;
        end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            vlen = (size_t)(end - p) - nlen - 1;
            if (vlen >= size)
                return false;
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool web_query_get(const char *query, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    const char *p = query;

    if (!query || size == 0)
        return false;
    while (*p) {
        const char *end = strchr(p, '&');
        if (!end)
            end = p + strlen(p);
        if ((size_t)(end - p) >= klen && strncmp(p, key, klen) == 0 && (p[klen] == '=' || p + klen == end)) {
            const char *v = p + klen + (p + klen < end ? 1 : 0);
            size_t n = 0;
            for (; v < end; v++) {
                int c = (unsigned char)*v;
                if (c == '+')
                    c = ' ';
                else if (c == '%') {
                    int hi = end - v >= 3 ? hexval(v[1]) : -1;
                    int lo = hi >= 0 ? hexval(v[2]) : -1;
                    if (hi < 0 || lo < 0)
                        return false;
                    c = hi * 16 + lo;
                    v += 2;
                    if (c == 0)
                        return false; /* a NUL would cut the value short */
                }
                if (n + 1 >= size)
                    return false;
                out[n++] = (char)c;
            }
            out[n] = '\0';
            return web_text_ok(out, size);
        }
        p = *end ? end + 1 : end;
    }
    return false;
}

struct json_object *web_parse_json(const uint8_t *body, size_t len, char *why, size_t why_size)
{
    struct json_tokener *tok;
    struct json_object *o;

    if (!body || len == 0) {
        snprintf(why, why_size, "a JSON object is expected in the body");
        return NULL;
    }
    if (len > WEB_JSON_MAX) {
        snprintf(why, why_size, "the body is larger than %u bytes", WEB_JSON_MAX);
        return NULL;
    }
    if (memchr(body, '\0', len)) {
        snprintf(why, why_size, "the body contains a NUL byte");
        return NULL;
    }
    tok = json_tokener_new_ex(8);
    if (!tok) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, (const char *)body, (int)len);
    if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len ||
        !json_object_is_type(o, json_type_object)) {
        snprintf(why, why_size, "malformed JSON: %s",
                 !o ? json_tokener_error_desc(json_tokener_get_error(tok))
                    : "expected one object and nothing after it");
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* One address of a Forwarded "for=" value or an X-Forwarded-For entry: optional quotes, "[v6]:port",
 * "v4:port" or a bare address; into out in canonical text, false unless it is an IP address. */
static bool forwarded_addr(const char *s, size_t n, char *out, size_t size)
{
    char buf[INET6_ADDRSTRLEN + 16];
    unsigned char bin[sizeof(struct in6_addr)];
    const char *end;

    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    if (n && s[0] == '[') {
        end = memchr(s, ']', n);
        if (!end)
            return false;
        s++;
        n = (size_t)(end - s);
    } else if (memchr(s, ':', n) && memchr(s, '.', n)) {
        n = (size_t)((const char *)memchr(s, ':', n) - s); /* v4:port */
    }
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, bin) == 1)
        return inet_ntop(AF_INET, bin, out, (socklen_t)size) != NULL;
    if (inet_pton(AF_INET6, buf, bin) == 1)
        return inet_ntop(AF_INET6, bin, out, (socklen_t)size) != NULL;
    return false;
}

bool web_forwarded_client(const char *forwarded, const char *xff, char *out, size_t size)
{
    /* the last hop is the one our proxy added; anything before it the client may have written itself */
    if (forwarded && *forwarded && strlen(forwarded) <= 4096) {
        const char *last = NULL, *p = forwarded;
        while ((p = strstr(p, "for=")) != NULL) {
            if (p == forwarded || p[-1] == ';' || p[-1] == ',' || p[-1] == ' ')
                last = p + 4;
            p += 4;
        }
        if (last)
            return forwarded_addr(last, strcspn(last, ";,"), out, size);
    }
    if (xff && *xff && strlen(xff) <= 4096) {
        const char *comma = strrchr(xff, ',');
        const char *s = comma ? comma + 1 : xff;
        return forwarded_addr(s, strlen(s), out, size);
    }
    return false;
}
