/* test_web.c — the dashboard's parsers and routing without a database: cookies, queries, UTF-8, JSON limits
 * and duplicate keys, Host names, forwarded schemes, log escaping, scanned labels, static files, path tricks,
 * the operators' routes and the configured photo profile */
#include "dispatch/dispatch.h"
#include "photo.h"
#include "web/web.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void cookies(void **state)
{
    char v[80];

    (void)state;
    assert_true(web_cookie_get("a=1; cardline_session=abc; b=2", "cardline_session", v, sizeof(v)));
    assert_string_equal(v, "abc");
    assert_false(web_cookie_get("xcardline_session=abc", "cardline_session", v, sizeof(v)));
    assert_false(web_cookie_get("cardline_session", "cardline_session", v, sizeof(v)));
    assert_false(web_cookie_get(NULL, "cardline_session", v, sizeof(v)));
    assert_false(web_cookie_get("s=0123456789", "s", v, 5)); /* too long is absent, not truncated */
}

static void queries(void **state)
{
    char v[32];

    (void)state;
    assert_true(web_query_get("application=SQ%201&last4=123X", "application", v, sizeof(v)));
    assert_string_equal(v, "SQ 1");
    assert_true(web_query_get("a=1&last4=12+3", "last4", v, sizeof(v)));
    assert_string_equal(v, "12 3");
    assert_false(web_query_get("a=%4", "a", v, sizeof(v)));
    assert_false(web_query_get("a=%00", "a", v, sizeof(v))); /* NUL */
    assert_false(web_query_get("a=%ff", "a", v, sizeof(v))); /* not UTF-8 */
    assert_false(web_query_get("ab=1", "a", v, sizeof(v)));
}

static void text(void **state)
{
    (void)state;
    assert_true(web_text_ok("张三 O'Brien", 64));
    assert_false(web_text_ok("a\nb", 64));
    assert_false(web_text_ok("\xc0\xaf", 64));     /* overlong '/' */
    assert_false(web_text_ok("\xed\xa0\x80", 64)); /* surrogate */
    assert_false(web_text_ok("abcdef", 5));
}

static void json(void **state)
{
    char why[160];
    const char *deep = "{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}";
    json_object *o;

    (void)state;
    o = web_parse_json((const uint8_t *)"{\"label\":\"x\"}", 13, why, sizeof(why));
    assert_non_null(o);
    json_object_put(o);
    assert_null(web_parse_json((const uint8_t *)"{\"a\":1} {}", 10, why, sizeof(why)));
    assert_null(web_parse_json((const uint8_t *)"[1]", 3, why, sizeof(why)));
    assert_null(web_parse_json((const uint8_t *)"{\"a\":", 5, why, sizeof(why)));
    assert_null(web_parse_json((const uint8_t *)deep, strlen(deep), why, sizeof(why)));
    assert_null(web_parse_json((const uint8_t *)"", 0, why, sizeof(why)));
}

/* json-c keeps the last of two equal keys: such a body is refused, the key named, however it is spelled */
static void json_duplicates(void **state)
{
    char why[160];
    json_object *o;
    const char *ok[] = {
        "{\"a\":1,\"b\":2}", "{\"a\":{\"a\":1},\"b\":{\"a\":2}}", /* one name in different objects */
        "{\"x\":[{\"a\":1},{\"a\":2}],\"a\":\"a\"}", /* objects in an array; a value equal to a key */
        "{\"a\":\"\\\"a\\\":\",\"ab\":1}",           /* a quote and colon inside a string */
    };
    const char *dup[] = {
        "{\"name\":\"x\",\"name\":\"admin\"}", "{\"a\":1, \"\\u0061\" :2}", /* escaped spelling */
        "{\"k\":{\"b\":1,\"c\":2,\"b\":3}}",                                /* in a nested object */
        "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", /* a surrogate pair and its UTF-8 */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        o = web_parse_json((const uint8_t *)ok[i], strlen(ok[i]), why, sizeof(why));
        if (!o)
            fail_msg("%s refused: %s", ok[i], why);
        json_object_put(o);
    }
    for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
        why[0] = '\0';
        assert_null(web_parse_json((const uint8_t *)dup[i], strlen(dup[i]), why, sizeof(why)));
        assert_non_null(strstr(why, "duplicate key"));
    }
    web_parse_json((const uint8_t *)dup[0], strlen(dup[0]), why, sizeof(why));
    assert_non_null(strstr(why, "'name'"));
}

/* the Host a request may name: loopback names and the listen address (DNS rebinding) */
static void hosts(void **state)
{
    struct web_server s;

    (void)state;
    web_server_init(&s);
    snprintf(s.listen_host, sizeof(s.listen_host), "192.0.2.5");
    assert_true(web_host_ok(&s, NULL));
    assert_true(web_host_ok(&s, "localhost:8080"));
    assert_true(web_host_ok(&s, "LOCALHOST"));
    assert_true(web_host_ok(&s, "127.0.0.1:8080"));
    assert_true(web_host_ok(&s, "127.1.2.3"));
    assert_true(web_host_ok(&s, "[::1]:8080"));
    assert_true(web_host_ok(&s, "192.0.2.5:8080"));
    assert_false(web_host_ok(&s, "192.0.2.6:8080"));
    assert_false(web_host_ok(&s, "rebind.example:8080"));
    assert_false(web_host_ok(&s, "localhost.rebind.example"));
    assert_false(web_host_ok(&s, "127.0.0.1.rebind.example"));
    assert_false(web_host_ok(&s, "127.0.0.1:80x"));
    assert_false(web_host_ok(&s, "[::1"));
    assert_false(web_host_ok(&s, ""));
    s.listen_any = true;
    assert_true(web_host_ok(&s, "192.0.2.6:8080"));
    assert_true(web_host_ok(&s, "[2001:db8::1]:8080"));
    assert_false(web_host_ok(&s, "rebind.example"));
    web_server_destroy(&s);
}

static void forwarded_proto(void **state)
{
    (void)state;
    assert_string_equal(web_forwarded_proto("for=1.2.3.4;proto=https", NULL), "https");
    assert_string_equal(web_forwarded_proto("proto=http, for=1.2.3.4;proto=\"https\"", "http"), "https");
    assert_string_equal(web_forwarded_proto(NULL, "http, https"), "https");
    assert_string_equal(web_forwarded_proto(NULL, "HTTP"), "http");
    assert_null(web_forwarded_proto(NULL, "gopher"));
    assert_null(web_forwarded_proto(NULL, NULL));
}

/* request data in a log line: no CR or LF to start a forged line */
static void log_text(void **state)
{
    char out[32];

    (void)state;
    web_log_text("/x\r\nFORGED", out, sizeof(out));
    assert_string_equal(out, "/x\\x0d\\x0aFORGED");
    web_log_text("a\\b\x1b\xc3\xa9", out, sizeof(out));
    assert_string_equal(out, "a\\x5cb\\x1b\\xc3\\xa9");
    web_log_text("0123456789012345678901234567890123456789", out, sizeof(out));
    assert_int_equal(strlen(out), 31);
    assert_string_equal(out + 28, "...");
    web_log_text(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

static void labels(void **state)
{
    char id[19];

    (void)state;
    assert_int_equal(producer_dispatch_parse_label("069012340000000078", id), 0);
    assert_string_equal(id, "069012340000000078");
    assert_int_equal(producer_dispatch_parse_label("00069012340000000078\r\n", id), 0);
    assert_int_equal(producer_dispatch_parse_label("]C100069012340000000078", id), 0);
    assert_int_equal(producer_dispatch_parse_label("(00) 0 690123400000000 7 8", id), 0);
    assert_string_equal(id, "069012340000000078");
    assert_int_equal(producer_dispatch_parse_label("069012340000000079", id),
                     PRODUCER_ERROR_INPUT); /* check digit */
    assert_int_equal(producer_dispatch_parse_label("06901234000000007", id), PRODUCER_ERROR_INPUT);
    assert_int_equal(producer_dispatch_parse_label("' OR 1=1 --", id), PRODUCER_ERROR_INPUT);
    assert_int_equal(producer_dispatch_parse_label("", id), PRODUCER_ERROR_INPUT);
}

static int status_host(const char *method, const char *path, bool too_large, const char *host)
{
    struct web_server s;
    struct web_request req = {
        .method = method, .path = path, .body_too_large = too_large, .client = "t", .host = host};
    struct web_response resp;
    int status;

    web_server_init(&s);
    web_handle(&s, NULL, &req, &resp);
    status = resp.status;
    web_response_free(&resp);
    web_server_destroy(&s);
    return status;
}

static int status_of(const char *method, const char *path, bool too_large)
{
    return status_host(method, path, too_large, NULL);
}

/* the client address a trusted proxy forwards: its own (last) hop only, and only an IP address */
static void forwarded(void **state)
{
    char v[64];

    (void)state;
    assert_true(web_forwarded_client(NULL, "203.0.113.7", v, sizeof(v)));
    assert_string_equal(v, "203.0.113.7");
    /* a client's own X-Forwarded-For comes first; the proxy appends the real one */
    assert_true(web_forwarded_client(NULL, "10.9.9.9, 198.51.100.2", v, sizeof(v)));
    assert_string_equal(v, "198.51.100.2");
    assert_true(
        web_forwarded_client("for=10.9.9.9, for=\"[2001:DB8::1]:4711\";proto=https", NULL, v, sizeof(v)));
    assert_string_equal(v, "2001:db8::1");
    assert_true(web_forwarded_client("proto=https;for=192.0.2.60:443", "10.1.1.1", v, sizeof(v)));
    assert_string_equal(v, "192.0.2.60");
    assert_true(web_forwarded_client("by=192.0.2.1", "192.0.2.61", v, sizeof(v))); /* no for=: XFF */
    assert_string_equal(v, "192.0.2.61");
    assert_false(web_forwarded_client(NULL, "unknown", v, sizeof(v)));
    assert_false(web_forwarded_client("for=_hidden", NULL, v, sizeof(v)));
    assert_false(web_forwarded_client(NULL, "1.2.3.4, ", v, sizeof(v)));
    assert_false(web_forwarded_client(NULL, "1.2.3.4\r\nX: y", v, sizeof(v)));
    assert_false(web_forwarded_client(NULL, NULL, v, sizeof(v)));
}

static void routing(void **state)
{
    (void)state;
    assert_int_equal(status_of("GET", "/", false), 302);
    assert_int_equal(status_of("GET", "/login.html", false), 200);
    assert_int_equal(status_of("GET", "/../../etc/passwd", false), 404);
    assert_int_equal(status_of("GET", "/login.html/../../etc/passwd", false), 404);
    assert_int_equal(status_of("GET", "//etc/passwd", false), 404);
    assert_int_equal(status_of("GET", "relative", false), 400);
    assert_int_equal(status_of("DELETE", "/api/v1/status", false), 405);
    assert_int_equal(status_of("GET", "/api/v1/nothing", false), 404);
    assert_int_equal(status_of("GET", "/api/v1/shipments/..%2f..%2f", false), 404);
    assert_int_equal(status_of("GET", "/api/v1/shipments/069012340000000078/../../x", false), 404);
    assert_int_equal(status_of("POST", "/api/v1/cards/A0000001'/collect", false), 404);
    assert_int_equal(status_of("POST", "/api/v1/receive", true), 413);
    assert_int_equal(status_of("GET", "/api/v1/status", false), 503); /* no database here */
    /* operators' changes: POST only, names checked before any database work */
    assert_int_equal(status_of("GET", "/api/v1/applications/A-1/release", false), 405);
    assert_int_equal(status_of("GET", "/api/v1/applications/A-1/cancel", false), 405);
    assert_int_equal(status_of("GET", "/api/v1/cards/A00000001/report-lost", false), 405);
    assert_int_equal(status_of("POST", "/api/v1/cards/A0000001'/report-lost", false), 404);
    assert_int_equal(status_of("POST", "/api/v1/applications/A-1/release", false), 503);
    assert_int_equal(status_of("POST", "/api/v1/applications/A-1/cancel", false), 503);
    assert_int_equal(status_of("POST", "/api/v1/cards/A00000001/report-lost", false), 503);
    /* a name that is not ours, before anything else: pages and API alike */
    assert_int_equal(status_host("GET", "/login.html", false, "rebind.example"), 421);
    assert_int_equal(status_host("GET", "/api/v1/status", false, "rebind.example:8080"), 421);
    assert_int_equal(status_host("GET", "/login.html", false, "127.0.0.1:8080"), 200);
    assert_int_equal(status_host("GET", "/login.html", false, "localhost:8080"), 200);
}

/* uploads are checked against the configured profile, as the lines check photos: a built-in name or a file;
 * nothing configured keeps the default; a profile that cannot be read stops the server from starting */
static void profile(void **state)
{
    struct web_server s;

    (void)state;
    web_server_init(&s);
    assert_int_equal(web_server_set_profile(&s, NULL), 0);
    assert_null(s.profile);
    assert_int_equal(web_server_set_profile(&s, ""), 0);
    assert_null(s.profile);
    assert_int_equal(web_server_set_profile(&s, "national-id"), 0);
    assert_non_null(s.profile);
    assert_string_equal(s.profile->name, "national-id");
    assert_true(web_server_set_profile(&s, "/nonexistent/bureau.profile") < 0);
    assert_string_equal(s.profile->name, "national-id"); /* untouched on failure */
    web_server_destroy(&s);
    assert_null(s.profile);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cookies),   cmocka_unit_test(queries),         cmocka_unit_test(text),
        cmocka_unit_test(json),      cmocka_unit_test(labels),          cmocka_unit_test(routing),
        cmocka_unit_test(forwarded), cmocka_unit_test(profile),         cmocka_unit_test(json_duplicates),
        cmocka_unit_test(hosts),     cmocka_unit_test(forwarded_proto), cmocka_unit_test(log_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
