/*
 * test_posts_sources.c - The database, file and API sources return the same
 * posts in the same order; every malformed JSONL case is skipped, counted and
 * reported with its line number while valid lines load; the API server's 400
 * and 404 answers; a server that goes away mid-read is an error, not a crash.
 */
#include <curl/curl.h>

#include "pp_test.h"
#include "posts_test_util.h"

#define N 1500

static char dir[64];

static int setup(void **state)
{
    (void)state;
    pt_tmpdir(dir, sizeof dir);
    return pt_gen(dir, N, 11, 0, NULL) == PP_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pt_rmrf(dir);
    return 0;
}

/* Read src to its end in batches of bs; hashes into out (N entries). */
static size_t drain(posts_source *src, size_t bs, uint64_t *out, size_t cap)
{
    posts_batch b = {0};
    posts_err err = {{0}};
    size_t n = 0;
    long got;
    while ((got = posts_source_next(src, &b, bs, &err)) > 0) {
        assert_true((size_t)got <= bs);
        for (size_t i = 0; i < b.n; i++)
            if (n < cap)
                out[n++] = posts_post_hash(&b.posts[i]);
        posts_batch_clear(&b);
    }
    if (got < 0)
        fail_msg("%s: %s", posts_source_name(src), err.msg);
    posts_batch_release(&b);
    return n;
}

static void three_sources_same_posts(void **state)
{
    (void)state;
    static uint64_t ref[N], other[N];
    char path[256];
    posts_err err;
    posts_source *src;
    snprintf(path, sizeof path, "%s/posts.db", dir);
    assert_int_equal(posts_source_open_sqlite(path, &src, &err), PP_OK);
    assert_int_equal(drain(src, 100, ref, N), N);
    posts_source_stats st;
    posts_source_stats_get(src, &st);
    assert_int_equal(st.db_fullscan_steps, N - 1); /* rowid order: one scan, no sort */
    assert_int_equal(st.db_sorts, 0);
    assert_true(st.db_vm_steps > N);
    posts_source_close(src);
    /* the generator itself agrees */
    posts_post p;
    assert_int_equal(posts_datagen_post(11, 77, &p), PP_OK);
    assert_int_equal(posts_post_hash(&p), ref[76]);
    posts_post_release(&p);

    snprintf(path, sizeof path, "%s/posts.jsonl", dir);
    assert_int_equal(posts_source_open_jsonl(path, 0, &src, &err), PP_OK);
    assert_int_equal(drain(src, 64, other, N), N);
    assert_memory_equal(ref, other, sizeof ref);
    posts_source_stats_get(src, &st);
    assert_int_equal(st.rows_rejected, 0);
    assert_int_equal(st.posts, N);
    posts_source_close(src);

    snprintf(path, sizeof path, "%s/posts.db", dir);
    posts_api_server *srv;
    assert_int_equal(posts_api_server_start(path, NULL, 0, 2, &srv, &err), PP_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)posts_api_server_port(srv));
    const posts_api_opts variants[] = {{1, 4, 0, 0}, {0, 1, 0, 0}, {1, 8, 0, 0}};
    const size_t bs[] = {100, 7, 1000};
    for (int v = 0; v < 3; v++) {
        memset(other, 0, sizeof other);
        assert_int_equal(posts_source_open_api(url, &variants[v], &src, &err), PP_OK);
        assert_int_equal(drain(src, bs[v], other, N), N);
        assert_memory_equal(ref, other, sizeof ref);
        posts_source_stats_get(src, &st);
        assert_true(st.requests >= (N + bs[v] - 1) / bs[v]);
        assert_int_equal(st.connections_opened + st.connections_reused, st.requests);
        assert_true(st.http_total_ns >= st.http_ttfb_ns && st.http_ttfb_ns > 0);
        if (variants[v].keep_alive) {
            /* never more connections than requests in flight, the rest reused */
            assert_true(st.connections_opened <= (uint64_t)variants[v].concurrency);
            assert_true(st.connections_reused + variants[v].concurrency >= st.requests);
        } else {
            assert_int_equal(st.connections_reused, 0);
        }
        posts_source_close(src);
    }
    posts_api_server_stop(srv);
}

typedef struct rejects {
    uint64_t line[32];
    char why[32][128];
    int n;
} rejects;

static void on_reject(void *user, const posts_reject *rj)
{
    rejects *r = user;
    if (r->n < 32) {
        r->line[r->n] = rj->row;
        snprintf(r->why[r->n], sizeof r->why[r->n], "%s", rj->reason);
        r->n++;
    }
}

static void jsonl_malformed(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/bad.jsonl", dir);
    FILE *f = fopen(path, "wb");
    char *good;
    size_t gl;
    posts_post p;
    int valid = 0;
    /* line: content */
    const char *bad_lines[] = {
        "{\"id\": 5, \"author_id\": 1",       /* 2: truncated */
        "[1,2,3]",                            /* 4: not an object */
        "{\"id\":\"seven\",\"author_id\":1}", /* 6: wrong type */
        "",                                   /* 8: empty */
        "{\"id\":9,\"author_id\":1,\"author_followers\":1,\"created_at\":0,\"lang\":\"en\","
        "\"text\":\"caf\xc3\",\"media\":\"none\",\"reactions\":0,\"comments\":0,\"shares\":"
        "0}",                          /* 10: bad UTF-8 */
        "{\"id\":11,\"author_id\":1}", /* 12: missing field */
        "{\"id\":13,\"author_id\":1,\"author_followers\":1,\"created_at\":0,\"lang\":"
        "\"en\","
        "\"text\":\"x\",\"media\":\"hologram\",\"reactions\":0,\"comments\":0,\"shares\":"
        "0}",              /* 14: bad enum */
        "not json at all", /* 16 */
    };
    const char *reasons[] = {"truncated",  "not a JSON object", "must be an integer",
                             "empty line", "invalid UTF-8",     "missing field",
                             "media",      "invalid JSON"};
    int nb = (int)(sizeof bad_lines / sizeof *bad_lines);
    int64_t id = 1;
    for (int i = 0; i < nb; i++) {
        assert_int_equal(posts_datagen_post(11, id++, &p), PP_OK);
        assert_int_equal(posts_post_to_json(&p, &good, &gl), PP_OK);
        fprintf(f, "%s\n%s\n", good, bad_lines[i]);
        valid++;
        free(good);
        posts_post_release(&p);
    }
    /* 17: over-long line (max_line below is 4096) */
    for (int k = 0; k < 10000; k++)
        fputc('x', f);
    fputc('\n', f);
    /* 18: a valid line with CRLF; 19: a valid last line without newline */
    assert_int_equal(posts_datagen_post(11, id++, &p), PP_OK);
    assert_int_equal(posts_post_to_json(&p, &good, &gl), PP_OK);
    fprintf(f, "%s\r\n", good);
    free(good);
    posts_post_release(&p);
    assert_int_equal(posts_datagen_post(11, id++, &p), PP_OK);
    assert_int_equal(posts_post_to_json(&p, &good, &gl), PP_OK);
    fprintf(f, "%s", good);
    free(good);
    posts_post_release(&p);
    valid += 2;
    fclose(f);

    rejects r = {0};
    posts_source *src;
    posts_err err;
    assert_int_equal(posts_source_open_jsonl(path, 4096, &src, &err), PP_OK);
    posts_source_on_reject(src, on_reject, &r);
    static uint64_t h[64];
    assert_int_equal(drain(src, 5, h, 64), (size_t)valid);
    posts_source_stats st;
    posts_source_stats_get(src, &st);
    assert_int_equal(st.rows_rejected, nb + 1);
    assert_int_equal(r.n, nb + 1);
    for (int i = 0; i < nb; i++) {
        assert_int_equal(r.line[i], (uint64_t)(2 * i + 2));
        if (!strstr(r.why[i], reasons[i]))
            fail_msg("line %d: reason '%s' lacks '%s'", 2 * i + 2, r.why[i], reasons[i]);
    }
    assert_int_equal(r.line[nb], 17);
    assert_non_null(strstr(r.why[nb], "longer than 4096"));
    /* the valid posts are the generator's, in order */
    for (int i = 0; i < valid; i++) {
        assert_int_equal(posts_datagen_post(11, i + 1, &p), PP_OK);
        assert_int_equal(h[i], posts_post_hash(&p));
        posts_post_release(&p);
    }
    posts_source_close(src);
}

typedef struct body {
    char buf[8192];
    size_t n;
} body;

static size_t on_data(char *p, size_t s, size_t n, void *u)
{
    body *b = u;
    size_t len = s * n;
    if (b->n + len < sizeof b->buf) {
        memcpy(b->buf + b->n, p, len);
        b->n += len;
        b->buf[b->n] = '\0';
    }
    return len;
}

static long get(const char *url, body *b)
{
    CURL *c = curl_easy_init();
    b->n = 0;
    b->buf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static void api_server_errors(void **state)
{
    (void)state;
    char path[256], url[256];
    posts_err err;
    snprintf(path, sizeof path, "%s/posts.db", dir);
    posts_api_server *srv;
    assert_int_equal(posts_api_server_start(path, "127.0.0.1", 0, 2, &srv, &err), PP_OK);
    unsigned port = posts_api_server_port(srv);
    static body b;
    struct {
        const char *path;
        long code;
        const char *text;
    } cases[] = {
        {"/posts?cursor=abc", 400, "cursor must be"},
        {"/posts?cursor=-1", 400, "cursor must be"},
        {"/posts?limit=0", 400, "limit must be"},
        {"/posts?limit=5000", 400, "limit must be"},
        {"/posts?limit=", 400, "limit must be"},
        {"/posts/abc", 400, "post id must be"},
        {"/posts/0", 400, "post id must be"},
        {"/posts/999999", 404, "post 999999 not found"},
        {"/nothing", 404, "no such resource"},
        {"/posts/17", 200, "\"id\":17,"},
        {"/posts?cursor=1495&limit=10", 200, "\"next_cursor\":null"},
        {"/posts?cursor=0&limit=2", 200, "\"next_cursor\":2}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, cases[i].path);
        long code = get(url, &b);
        if (code != cases[i].code || !strstr(b.buf, cases[i].text))
            fail_msg("%s: HTTP %ld '%s'", cases[i].path, code, b.buf);
        if (code >= 400)
            assert_non_null(strstr(b.buf, "\"error\":"));
    }
    posts_api_server_stop(srv);
    /* a bad database is refused at start, with its name */
    assert_int_equal(posts_api_server_start("/nonexistent/posts.db", NULL, 0, 1, &srv, &err),
                     PP_EDB);
    assert_non_null(strstr(err.msg, "/nonexistent/posts.db"));
}

static void api_server_gone(void **state)
{
    (void)state;
    char path[256], url[64];
    posts_err err = {{0}};
    snprintf(path, sizeof path, "%s/posts.db", dir);
    posts_api_server *srv;
    assert_int_equal(posts_api_server_start(path, NULL, 0, 2, &srv, &err), PP_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)posts_api_server_port(srv));
    posts_api_opts o = {.keep_alive = 1, .concurrency = 1, .timeout_ms = 2000, .max_retries = 1};
    posts_source *src;
    assert_int_equal(posts_source_open_api(url, &o, &src, &err), PP_OK);
    posts_batch b = {0};
    assert_int_equal(posts_source_next(src, &b, 100, &err), 100);
    posts_api_server_stop(srv);
    long got = 0;
    /* pages already fetched may still arrive; then the failure */
    for (int i = 0; i < 20 && got >= 0; i++)
        got = posts_source_next(src, &b, 100, &err);
    assert_int_equal(got, PP_ENET);
    assert_non_null(strstr(err.msg, url));
    posts_source_stats st;
    posts_source_stats_get(src, &st);
    assert_int_equal(st.retries, 1);
    posts_batch_release(&b);
    posts_source_close(src);
}

static void missing_files(void **state)
{
    (void)state;
    posts_source *src;
    posts_err err;
    assert_int_equal(posts_source_open_sqlite("/nonexistent/posts.db", &src, &err), PP_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/posts.db"));
    assert_null(src);
    assert_int_equal(posts_source_open_jsonl("/nonexistent/p.jsonl", 0, &src, &err), PP_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/p.jsonl"));
    /* refused connection: an error naming the URL after the retries */
    int port = pt_free_port();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    posts_api_opts o = {.keep_alive = 1, .concurrency = 2, .timeout_ms = 1000, .max_retries = 2};
    assert_int_equal(posts_source_open_api(url, &o, &src, &err), PP_OK);
    posts_batch b = {0};
    assert_int_equal(posts_source_next(src, &b, 10, &err), PP_ENET);
    assert_non_null(strstr(err.msg, url));
    assert_non_null(strstr(err.msg, "after 2 retries"));
    posts_source_close(src);
    posts_batch_release(&b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(three_sources_same_posts),
    cmocka_unit_test(jsonl_malformed),
    cmocka_unit_test(api_server_errors),
    cmocka_unit_test(api_server_gone),
    cmocka_unit_test(missing_files),
};

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
