/*
 * test_http.c - The HTTP server, talked to over loopback with libcurl:
 * built-in endpoints, Accept negotiation, gzip, bearer auth, 404/405/413,
 * added handlers, bind errors, and the header-value parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <zlib.h>

#include <postprof/postprof.h>

#include "pp_test.h"

struct reply {
    long status;
    char *body;
    size_t len;
    char ctype[128];
    char encoding[32];
    char allow[64];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct reply *r = ud;
    char *grown = realloc(r->body, r->len + sz * n + 1);
    if (!grown)
        return 0;
    r->body = grown;
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t len = sz * n;
    if (len > 14 && strncasecmp(p, "Content-Type: ", 14) == 0)
        snprintf(r->ctype, sizeof r->ctype, "%.*s", (int)(len - 16), p + 14);
    if (len > 18 && strncasecmp(p, "Content-Encoding: ", 18) == 0)
        snprintf(r->encoding, sizeof r->encoding, "%.*s", (int)(len - 20), p + 18);
    if (len > 7 && strncasecmp(p, "Allow: ", 7) == 0)
        snprintf(r->allow, sizeof r->allow, "%.*s", (int)(len - 9), p + 7);
    return len;
}

/* GET (or method with body) url on the server; headers: NULL-terminated list. */
static struct reply req(pp_http_server *s, const char *method, const char *path,
                        const char *const *headers, const char *body, size_t body_len)
{
    struct reply r = {0};
    char url[512];
    snprintf(url, sizeof url, "http://%s%s", pp_http_address(s), path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = NULL;
    for (; headers && *headers; headers++)
        h = curl_slist_append(h, *headers);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    /* no timeout of the test's own: a hang is ctest's to catch */
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("curl %s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r.body)
        r.body = calloc(1, 1);
    return r;
}

static struct reply get(pp_http_server *s, const char *path, const char *const *headers)
{
    return req(s, "GET", path, headers, NULL, 0);
}

static pp_http_server *start(pp_registry *reg, const char *token)
{
    pp_http_config cfg = {.listen = "127.0.0.1:0", .registry = reg, .token = token};
    pp_http_server *s = NULL;
    assert_int_equal(pp_http_start(&cfg, &s), PP_OK);
    assert_non_null(s);
    assert_true(pp_http_port(s) > 0);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%u", pp_http_port(s));
    assert_string_equal(pp_http_address(s), want);
    return s;
}

static pp_registry *small_registry(void)
{
    pp_registry *r = NULL;
    pp_metric *m;
    pp_series *s;
    assert_int_equal(pp_registry_new(NULL, &r), PP_OK);
    assert_int_equal(pp_registry_counter(r, "hits_total", "Hits.", 0, NULL, &m), PP_OK);
    assert_int_equal(pp_metric_series(m, NULL, &s), PP_OK);
    pp_series_add(s, 41);
    pp_series_inc(s);
    /* enough series that gzip is worth it */
    const char *l[] = {"n"};
    assert_int_equal(pp_registry_gauge(r, "filler", "Filler.", 1, l, &m), PP_OK);
    for (int i = 0; i < 100; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        assert_int_equal(pp_metric_series(m, (const char *const[]){v}, &s), PP_OK);
        pp_series_set(s, i);
    }
    return r;
}

static void test_endpoints(void **state)
{
    (void)state;
    pp_registry *reg = small_registry();
    pp_http_server *s = start(reg, NULL);

    struct reply r = get(s, "/metrics", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "\nhits_total 42\n"));
    assert_null(strstr(r.body, "# EOF"));
    free(r.body);

    const char *om[] = {"Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
                        NULL};
    r = get(s, "/metrics", om);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_non_null(strstr(r.body, "# TYPE hits counter\nhits_total 42\n"));
    assert_true(r.len > 6 && strcmp(r.body + r.len - 6, "# EOF\n") == 0);
    free(r.body);

    r = get(s, "/healthz", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    free(r.body);

    r = req(s, "HEAD", "/healthz", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    free(r.body);

    r = get(s, "/nope", NULL);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = get(s, "/metricsX", NULL);
    assert_int_equal(r.status, 404);
    free(r.body);

    r = req(s, "DELETE", "/metrics", NULL, NULL, 0);
    assert_int_equal(r.status, 405);
    free(r.body);

    char *big = malloc(PP_HTTP_MAX_BODY + 100);
    memset(big, 'a', PP_HTTP_MAX_BODY + 100);
    r = req(s, "POST", "/metrics", NULL, big, PP_HTTP_MAX_BODY + 100);
    assert_int_equal(r.status, 413);
    free(r.body);
    free(big);

    pp_http_stop(s);
    pp_registry_free(reg);
}

static void test_snapshot_json(void **state)
{
    (void)state;
    {
        PP_SCOPE("http_test.scope");
    }
    pp_registry *reg = small_registry();
    pp_http_server *s = start(reg, NULL);
    struct reply r = get(s, "/api/snapshot", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    json_error_t err;
    json_t *doc = json_loads(r.body, 0, &err);
    if (!doc)
        fail_msg("bad JSON at %d: %s", err.position, err.text);
    json_t *sites = json_object_get(doc, "sites");
    assert_true(json_is_array(sites));
    int found = 0;
    for (size_t i = 0; i < json_array_size(sites); i++) {
        json_t *site = json_array_get(sites, i);
        if (strcmp(json_string_value(json_object_get(site, "name")), "http_test.scope") == 0) {
            found = 1;
            assert_int_equal(json_integer_value(json_object_get(site, "count")), 1);
        }
    }
    assert_true(found);
    json_t *sys = json_object_get(doc, "system");
    assert_true(json_is_object(sys));
    assert_true(json_integer_value(json_object_get(sys, "resident_bytes")) > 0);
    json_t *gpu = json_object_get(doc, "gpu");
    assert_true(json_is_false(json_object_get(gpu, "available")));
    assert_true(json_is_string(json_object_get(gpu, "reason")));
    json_decref(doc);
    free(r.body);
    pp_http_stop(s);
    pp_registry_free(reg);
}

static void test_gzip(void **state)
{
    (void)state;
    pp_registry *reg = small_registry();
    pp_http_server *s = start(reg, NULL);
    struct reply plain = get(s, "/metrics", NULL);
    const char *gz[] = {"Accept-Encoding: gzip", NULL};
    struct reply r = get(s, "/metrics", gz);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.encoding, "gzip");
    assert_true(r.len < plain.len);
    /* inflate and compare (the scrape counter went from 1 to 2 in between) */
    char *cnt = strstr(plain.body, "postprof_scrapes_total{format=\"text\"} 1\n");
    assert_non_null(cnt);
    cnt[strlen("postprof_scrapes_total{format=\"text\"} ")] = '2';
    char *out = malloc(plain.len + 1);
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)r.body;
    z.avail_in = (uInt)r.len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)plain.len + 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, plain.len);
    assert_memory_equal(out, plain.body, plain.len);
    inflateEnd(&z);
    free(out);
    free(r.body);
    const char *nogz[] = {"Accept-Encoding: gzip;q=0, identity", NULL};
    r = get(s, "/metrics", nogz);
    assert_string_equal(r.encoding, "");
    assert_int_equal(r.len, plain.len);
    free(r.body);
    free(plain.body);
    pp_http_stop(s);
    pp_registry_free(reg);
}

static void test_token(void **state)
{
    (void)state;
    pp_registry *reg = small_registry();
    pp_http_server *s = start(reg, "s3cret");
    struct reply r = get(s, "/metrics", NULL);
    assert_int_equal(r.status, 401);
    free(r.body);
    const char *wrong[] = {"Authorization: Bearer s3cre", NULL};
    r = get(s, "/metrics", wrong);
    assert_int_equal(r.status, 401);
    free(r.body);
    const char *basic[] = {"Authorization: Basic czNjcmV0", NULL};
    r = get(s, "/healthz", basic);
    assert_int_equal(r.status, 401);
    free(r.body);
    const char *right[] = {"Authorization: Bearer s3cret", NULL};
    r = get(s, "/metrics", right);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "hits_total 42"));
    free(r.body);
    pp_http_stop(s);
    pp_registry_free(reg);
}

static int h_echo(const pp_http_request *rq, pp_http_response *resp, void *ctx)
{
    char buf[512];
    size_t n;
    const char *body = pp_http_request_body(rq, &n);
    const char *q = pp_http_request_query(rq, "x");
    const char *hv = pp_http_request_header(rq, "X-Test");
    snprintf(buf, sizeof buf, "%s %s %s x=%s h=%s body=%.*s", (const char *)ctx,
             pp_http_request_method(rq), pp_http_request_path(rq), q ? q : "-", hv ? hv : "-",
             (int)n, body);
    int rc = pp_http_respond_header(resp, "X-Handler", "yes");
    if (rc == PP_OK)
        rc = pp_http_respond(resp, 201, "text/plain", buf, strlen(buf));
    if (rc == PP_OK && pp_http_respond(resp, 200, "text/plain", "", 0) != PP_ESTATE)
        rc = PP_EINVAL;
    return rc;
}

static int h_fail(const pp_http_request *rq, pp_http_response *resp, void *ctx)
{
    (void)rq;
    (void)resp;
    (void)ctx;
    return PP_EIO;
}

static void test_handlers(void **state)
{
    (void)state;
    pp_registry *reg = small_registry();
    pp_http_server *s = start(reg, NULL);
    assert_int_equal(pp_http_add_handler(s, "/dash", h_echo, "exact"), PP_OK);
    assert_int_equal(pp_http_add_handler(s, "/static/", h_echo, "prefix"), PP_OK);
    assert_int_equal(pp_http_add_handler(s, "/static/js/", h_echo, "longer"), PP_OK);
    assert_int_equal(pp_http_add_handler(s, "/broken", h_fail, NULL), PP_OK);
    assert_int_equal(pp_http_add_handler(s, "/metrics", h_echo, "x"), PP_EEXIST);
    assert_int_equal(pp_http_add_handler(s, "/dash", h_echo, "x"), PP_EEXIST);
    assert_int_equal(pp_http_add_handler(s, "nodash", h_echo, "x"), PP_EINVAL);
    assert_int_equal(pp_http_add_handler(s, "/x", NULL, "x"), PP_EINVAL);

    const char *hdr[] = {"X-Test: hello", NULL};
    struct reply r = get(s, "/dash?x=1", hdr);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "exact GET /dash x=1 h=hello body=");
    free(r.body);
    r = req(s, "POST", "/static/a.css", NULL, "payload", 7);
    assert_string_equal(r.body, "prefix POST /static/a.css x=- h=- body=payload");
    free(r.body);
    r = get(s, "/static/js/app.js", NULL);
    assert_string_equal(r.body, "longer GET /static/js/app.js x=- h=- body=");
    free(r.body);
    r = get(s, "/dash/sub", NULL);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = get(s, "/broken", NULL);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "input/output error"));
    free(r.body);
    /* the table fills up */
    int added = 0, rc;
    char path[32];
    do {
        snprintf(path, sizeof path, "/h%d", added++);
        rc = pp_http_add_handler(s, path, h_echo, "x");
    } while (rc == PP_OK && added < 100);
    assert_int_equal(rc, PP_EFULL);
    pp_http_stop(s);
    pp_http_stop(NULL);
    pp_registry_free(reg);
}

static void test_bind_errors(void **state)
{
    (void)state;
    pp_registry *reg = small_registry();
    pp_http_server *a = start(reg, NULL), *b = (pp_http_server *)1;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", pp_http_port(a));
    pp_http_config cfg = {.listen = addr, .registry = reg};
    int lvl = pp_log_get_level();
    pp_log_set_level(PP_LOG_OFF);
    assert_int_equal(pp_http_start(&cfg, &b), PP_EBUSY); /* port in use */
    assert_null(b);
    cfg.listen = "127.0.0.1";
    assert_int_equal(pp_http_start(&cfg, &b), PP_EINVAL);
    cfg.listen = "127.0.0.1:70000";
    assert_int_equal(pp_http_start(&cfg, &b), PP_EINVAL);
    cfg.listen = "203.0.113.7:0"; /* TEST-NET: not an address of this machine */
    assert_int_equal(pp_http_start(&cfg, &b), PP_ENET);
    pp_log_set_level(lvl);
    /* a non-loopback address works when asked for, with a warning */
    FILE *logf = tmpfile();
    pp_log_set_stream(logf);
    cfg.listen = "0.0.0.0:0";
    assert_int_equal(pp_http_start(&cfg, &b), PP_OK);
    pp_log_set_stream(NULL);
    char buf[1024] = "";
    rewind(logf);
    size_t n = fread(buf, 1, sizeof buf - 1, logf);
    buf[n] = '\0';
    fclose(logf);
    assert_non_null(strstr(buf, "listen_not_loopback"));
    pp_http_stop(b);
    /* IPv6 loopback, if the machine has it */
    cfg.listen = "[::1]:0";
    if (pp_http_start(&cfg, &b) == PP_OK) {
        assert_non_null(strstr(pp_http_address(b), "[::1]:"));
        struct reply r = get(b, "/healthz", NULL);
        assert_int_equal(r.status, 200);
        free(r.body);
        pp_http_stop(b);
    }
    pp_http_stop(a);
    pp_registry_free(reg);
}

/* A NUL byte in the request target (%00) is refused, not cut short: GET
 * /metrics%00.html must not serve /metrics. Every route answers a method it
 * does not take with 405 and Allow, the dashboard page "/" included. */
static void test_hostile_requests(void **state)
{
    (void)state;
    pp_registry *reg = small_registry();
    pp_http_server *s = start(reg, NULL);
    assert_int_equal(pp_dashboard_attach(s), PP_OK);
    static const char *const nul[] = {"/metrics%00.html", "/metrics%00", "/%00/metrics",
                                      "/metrics?x=%00", "/healthz%00"};
    for (size_t i = 0; i < sizeof nul / sizeof nul[0]; i++) {
        struct reply r = get(s, nul[i], NULL);
        if (r.status != 400)
            fail_msg("GET %s answered %ld: %s", nul[i], r.status, r.body);
        assert_non_null(strstr(r.body, "NUL"));
        free(r.body);
    }
    struct reply r = get(s, "/metrics", NULL); /* a %-escape that is not NUL still decodes */
    assert_int_equal(r.status, 200);
    free(r.body);
    r = get(s, "/%6detrics", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "hits_total 42"));
    free(r.body);
    static const char *const paths[] = {"/", "/index.html", "/metrics", "/healthz",
                                        "/api/snapshot"};
    static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            r = req(s, methods[m], paths[p], NULL, "x", 1);
            if (r.status != 405 || strcmp(r.allow, "GET, HEAD") != 0)
                fail_msg("%s %s answered %ld (Allow '%s')", methods[m], paths[p], r.status,
                         r.allow);
            free(r.body);
        }
    r = get(s, "/", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = req(s, "HEAD", "/", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    pp_http_stop(s);
    pp_registry_free(reg);
}

static void test_header_parsers(void **state)
{
    (void)state;
    char host[64];
    uint16_t port;
    assert_int_equal(pp_http_parse_listen("127.0.0.1:9464", host, sizeof host, &port), PP_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9464);
    assert_int_equal(pp_http_parse_listen("[::1]:0", host, sizeof host, &port), PP_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(pp_http_parse_listen("localhost:80", host, sizeof host, &port), PP_OK);
    const char *bad[] = {"",       ":80",     "host",   "host:",   "host:65536", "host:-1",
                         "::1:80", "[::1]80", "a b:80", "host:8o", "[::1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pp_http_parse_listen(bad[i], host, sizeof host, &port) != PP_EINVAL)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(pp_http_parse_listen("127.0.0.1:1", host, 4, &port), PP_EINVAL);

    assert_true(pp_http_accepts_gzip("gzip"));
    assert_true(pp_http_accepts_gzip("deflate, gzip;q=0.5"));
    assert_true(pp_http_accepts_gzip("*"));
    assert_false(pp_http_accepts_gzip("gzip;q=0"));
    assert_false(pp_http_accepts_gzip("*, gzip;q=0"));
    assert_false(pp_http_accepts_gzip("identity"));
    assert_false(pp_http_accepts_gzip(NULL));
    assert_false(pp_http_accepts_gzip("gzipx"));

    assert_true(pp_http_check_bearer("Bearer abc", "abc"));
    assert_true(pp_http_check_bearer("bearer  abc ", "abc"));
    assert_false(pp_http_check_bearer("Bearer abcd", "abc"));
    assert_false(pp_http_check_bearer("Bearer ab", "abc"));
    assert_false(pp_http_check_bearer("Bearer ", "abc"));
    assert_false(pp_http_check_bearer("Basic abc", "abc"));
    assert_false(pp_http_check_bearer(NULL, "abc"));
}

static int setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    pp_metrics_default_free();
    return 0;
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_endpoints),      cmocka_unit_test(test_snapshot_json),
    cmocka_unit_test(test_gzip),           cmocka_unit_test(test_token),
    cmocka_unit_test(test_handlers),       cmocka_unit_test(test_bind_errors),
    cmocka_unit_test(test_header_parsers), cmocka_unit_test(test_hostile_requests),
};

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
