/* web_parse.c — bounded parsers for what a browser sends: cookies, query strings, JSON bodies, text fields,
 * Host names, forwarded schemes, and request data made safe for a log line */
#include "web/web.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSON_DEPTH 8 /* json-c's tokener depth: objects nest no deeper */

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

/* One decoded object key: its bytes in the scratch buffer. */
struct key_span {
    const uint8_t *p;
    size_t len;
};

static int key_cmp(const void *a, const void *b)
{
    const struct key_span *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int hex4(const uint8_t *s)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        int h = hexval((char)s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(uint8_t *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* The JSON string opening at s[*i] decoded into out (never longer than its text), *i past its closing quote;
 * the text was accepted by the strict tokener, so its escapes are whole. Escaped and plain spellings of a key
 * decode alike, so that "a" and "\u0061" are one key. */
static size_t json_string(const uint8_t *s, size_t len, size_t *i, uint8_t *out)
{
    size_t k = *i + 1, n = 0;

    while (k < len && s[k] != '"') {
        if (s[k] != '\\') {
            out[n++] = s[k++];
            continue;
        }
        if (k + 1 >= len)
            break;
        switch (s[k + 1]) {
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            int cp = k + 6 <= len ? hex4(s + k + 2) : -1;
            if (cp < 0) {
                k += 2;
                continue;
            }
            k += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && k + 8 <= len && s[k + 2] == '\\' && s[k + 3] == 'u') {
                int lo = hex4(s + k + 4);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    n += put_utf8(out + n, 0x10000ul + (((unsigned long)cp - 0xd800) << 10) +
                                               ((unsigned long)lo - 0xdc00));
                    k += 6;
                    break;
                }
            }
            n += put_utf8(out + n, (unsigned long)cp);
            break;
        }
        default:
            out[n++] = s[k + 1];
            break; /* \" \\ \/ */
        }
        k += 2;
    }
    *i = k + 1;
    return n;
}

/* json-c keeps the last of two equal keys in an object: a body with them means one thing to us and maybe
 * another to whatever checked it before, so it is refused. The keys of each object are sorted when it
 * closes and neighbours compared. False with the reason naming the key. */
static bool json_keys_unique(const uint8_t *s, size_t len, char *why, size_t why_size)
{
    uint8_t *buf = malloc(len + 1);
    struct key_span *keys = malloc(sizeof(*keys) * (len / 4 + 1)); /* a key takes at least 4 bytes: "":1 */
    size_t open[JSON_DEPTH + 2], nkeys = 0, used = 0;
    int depth = 0;
    bool ok = true;

    if (!buf || !keys) {
        free(buf);
        free(keys);
        snprintf(why, why_size, "out of memory");
        return false;
    }
    for (size_t i = 0; i < len && ok;) {
        if (s[i] == '"') {
            size_t n = json_string(s, len, &i, buf + used), j = i;
            while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
                j++;
            if (j < len && s[j] == ':' && depth > 0 && nkeys < len / 4 + 1) {
                keys[nkeys].p = buf + used;
                keys[nkeys++].len = n;
                used += n;
            }
            continue;
        }
        if (s[i] == '{' && depth < JSON_DEPTH + 1) {
            open[depth++] = nkeys;
        } else if (s[i] == '}' && depth > 0) {
            size_t from = open[--depth];
            qsort(keys + from, nkeys - from, sizeof(*keys), key_cmp);
            for (size_t k = from + 1; k < nkeys && ok; k++) {
                if (key_cmp(&keys[k - 1], &keys[k]) == 0) {
                    char name[44];
                    size_t m = 0;
                    for (size_t b = 0; b < keys[k].len && m + 4 < sizeof(name); b++)
                        name[m++] = keys[k].p[b] >= 0x20 && keys[k].p[b] < 0x7f ? (char)keys[k].p[b] : '?';
                    if (m + 4 >= sizeof(name) && keys[k].len > m)
                        memcpy(name + m, "...", 3), m += 3;
                    name[m] = '\0';
                    snprintf(why, why_size, "duplicate key '%s' in the JSON object", name);
                    ok = false;
                }
            }
            if (nkeys > from)
                used = (size_t)(keys[from].p - buf);
            nkeys = from;
        }
        i++;
    }
    free(buf);
    free(keys);
    return ok;
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
    } else if (!json_keys_unique(body, len, why, why_size)) {
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

bool web_host_ok(const struct web_server *s, const char *host)
{
    char name[INET6_ADDRSTRLEN + 2], canon[INET6_ADDRSTRLEN] = "";
    unsigned char bin[sizeof(struct in6_addr)];
    const char *port;
    size_t n;
    int af = 0;

    if (!host)
        return true;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close)
            return false;
        n = (size_t)(close - host - 1);
        port = close + 1;
        if (n == 0 || n >= sizeof(name))
            return false;
        memcpy(name, host + 1, n);
        name[n] = '\0';
        if (inet_pton(AF_INET6, name, bin) != 1)
            return false;
        af = AF_INET6;
    } else {
        n = strcspn(host, ":");
        port = host + n;
        if (n == 0 || n >= sizeof(name))
            return false;
        memcpy(name, host, n);
        name[n] = '\0';
        if (inet_pton(AF_INET, name, bin) == 1)
            af = AF_INET;
    }
    /* the port is not checked: rebinding is about the name a page was loaded from, and a port forward may
     * show another one */
    if (*port && (port[0] != ':' || strlen(port + 1) < 1 || strlen(port + 1) > 5 ||
                  strspn(port + 1, "0123456789") != strlen(port + 1)))
        return false;
    if (!af)
        return strcasecmp(name, "localhost") == 0;
    if (!inet_ntop(af, bin, canon, sizeof(canon)))
        return false;
    if ((af == AF_INET && bin[0] == 127) || (af == AF_INET6 && strcmp(canon, "::1") == 0))
        return true;
    return s->listen_any || strcmp(canon, s->listen_host) == 0;
}

/* "http" or "https" at the start of s (n bytes, spaces and quotes around allowed), else NULL */
static const char *proto_of(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '"'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '"'))
        n--;
    if (n == 5 && strncasecmp(s, "https", 5) == 0)
        return "https";
    if (n == 4 && strncasecmp(s, "http", 4) == 0)
        return "http";
    return NULL;
}

const char *web_forwarded_proto(const char *forwarded, const char *xfp)
{
    /* the last hop is our proxy's, as for the client address */
    if (forwarded && *forwarded && strlen(forwarded) <= 4096) {
        const char *last = NULL, *p = forwarded;
        while ((p = strcasestr(p, "proto=")) != NULL) {
            if (p == forwarded || p[-1] == ';' || p[-1] == ',' || p[-1] == ' ')
                last = p + 6;
            p += 6;
        }
        if (last)
            return proto_of(last, strcspn(last, ";,"));
    }
    if (xfp && *xfp && strlen(xfp) <= 4096) {
        const char *comma = strrchr(xfp, ',');
        const char *s = comma ? comma + 1 : xfp;
        return proto_of(s, strlen(s));
    }
    return NULL;
}

void web_log_text(const char *in, char *out, size_t size)
{
    size_t n = 0;

    if (size == 0)
        return;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p; p++) {
        char esc[5];
        size_t len = 1;
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            esc[0] = (char)*p;
        else
            len = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
        if (n + len + 4 > size) {
            snprintf(out + n, size - n, "%s", size - n > 3 ? "..." : "");
            return;
        }
        memcpy(out + n, esc, len);
        n += len;
    }
    out[n] = '\0';
}
