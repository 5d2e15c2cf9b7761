/*
 * test_posts_sources.c - The database, file and API sources return the same
 * posts in the same order; every malformed JSONL case is skipped, counted and
 * reported with its line number while valid lines load; the API server's 400
 * and 404 answers; a server that goes away mid-read is an error, not a crash.
 * Hostile rows (NULL, non-numeric, out-of-range, unknown values, duplicate
 * ids) are rejected by every source with their row and reason while the valid
 * ones load; FIFOs and devices are refused without being read.
 */
#include <curl/curl.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include <postprof/metrics.h>

#include "pp_test.h"
#include "posts_test_util.h"

#define N 1500

static char dir[64];

PT_DATA_FIXTURE(dir, N, 11, 0, NULL)

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
    /* a timeout far over any answer under load: a retry would open a
     * connection more than asserted below (under ASan at load ~20, eight
     * 1000-post pages at once ran past the default 10 s) */
    const posts_api_opts variants[] = {{1, 4, 600000, 0}, {0, 1, 600000, 0}, {1, 8, 600000, 0}};
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
    /* a timeout far over any answer under load: retries == 1 is asserted */
    posts_api_opts o = {.keep_alive = 1, .concurrency = 1, .timeout_ms = 30000, .max_retries = 1};
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

/* ---- hostile rows: the same bad cases through every source ---- */

typedef struct seen_reject {
    uint64_t row;
    int has_id;
    int64_t id;
    int kind;
    char source[16];
    char why[160];
} seen_reject;

typedef struct reject_log {
    seen_reject r[64];
    int n;
} reject_log;

static void log_reject(void *user, const posts_reject *rj)
{
    reject_log *l = user;
    if (l->n < 64) {
        seen_reject *x = &l->r[l->n++];
        x->row = rj->row;
        x->has_id = rj->has_id;
        x->id = rj->id;
        x->kind = rj->kind;
        snprintf(x->source, sizeof x->source, "%s", rj->source);
        snprintf(x->why, sizeof x->why, "%s", rj->reason);
    }
}

/* The reject of the row with id (or, id_known 0, the first without an id after skip of them). */
static const seen_reject *find_reject(const reject_log *l, int id_known, int64_t id, int kind)
{
    for (int i = 0; i < l->n; i++)
        if (l->r[i].has_id == id_known && (!id_known || l->r[i].id == id) && l->r[i].kind == kind)
            return &l->r[i];
    return NULL;
}

static double rejected_metric(const char *source, const char *kind)
{
    pp_metric *m = pp_registry_find(pp_metrics_default(), "posts_rows_rejected_total");
    pp_series *s;
    const char *values[] = {source, kind};
    if (!m || pp_metric_series(m, values, &s) != PP_OK)
        return 0;
    return pp_series_value(s);
}

/* One bad case: the SQL values of its row, its id (0: no integer id), the kind and reason. */
typedef struct bad_row {
    const char *sql; /* values after the id column */
    const char *id_sql;
    int has_id;
    int64_t id;
    int kind;
    const char *reason;
} bad_row;

#define GOOD_REST "7, 100, 1700000000, 'en', 'hello world', 'none', 1, 2, 3"
static const bad_row bad_rows[] = {
    {"NULL, 100, 1700000000, 'en', 'x', 'none', 1, 2, 3", "10", 1, 10, POSTS_REJECT_MISSING,
     "field \"author_id\" is NULL"},
    {"'abc', 100, 1700000000, 'en', 'x', 'none', 1, 2, 3", "11", 1, 11, POSTS_REJECT_TYPE,
     "field \"author_id\" must be an integer"},
    {"7, 100, 1700000000, 'abcdefghijk', 'x', 'none', 1, 2, 3", "12", 1, 12, POSTS_REJECT_RANGE,
     "field \"lang\" must be 1 to 3 ASCII letters"},
    {"7, 100, 1700000000, 'en', 'x', 'hologram', 1, 2, 3", "13", 1, 13, POSTS_REJECT_RANGE,
     "field \"media\" must be none|image|video|article|poll"},
    {"7, 100, 1700000000, 'en', 'x', 'none', -5, 2, 3", "14", 1, 14, POSTS_REJECT_RANGE,
     "field \"reactions\" out of range (-5 < 0)"},
    {"7, 100, 1700000000, 'en', 'x', 'none', 1, 2, -1", "15", 1, 15, POSTS_REJECT_RANGE,
     "field \"shares\" out of range (-1 < 0)"},
    {GOOD_REST, "-3", 1, -3, POSTS_REJECT_RANGE, "field \"id\" out of range (-3 < 1)"},
    {"7.5, 100, 1700000000, 'en', 'x', 'none', 1, 2, 3", "16", 1, 16, POSTS_REJECT_TYPE,
     "field \"author_id\" must be an integer"},
    {"7, 100, 1700000000, 'en', x'00ff', 'none', 1, 2, 3", "17", 1, 17, POSTS_REJECT_TYPE,
     "field \"text\" must be a string"},
    {"7, '42', 1700000000, 'en', 'x', 'none', 1, 2, 3", "18", 1, 18, POSTS_REJECT_TYPE,
     "field \"author_followers\" must be an integer"},
    {"7, 100, 1700000000, 'e1', 'x', 'none', 1, 2, 3", "19", 1, 19, POSTS_REJECT_RANGE,
     "field \"lang\" must be 1 to 3 ASCII letters"},
    {GOOD_REST, "NULL", 0, 0, POSTS_REJECT_MISSING, "field \"id\" is NULL"},
    {GOOD_REST, "'seven'", 0, 0, POSTS_REJECT_TYPE, "field \"id\" must be an integer"},
    {GOOD_REST, "2", 1, 2, POSTS_REJECT_DUPLICATE, "duplicate id"}, /* after the valid id 2 */
};
#define NBAD (sizeof bad_rows / sizeof *bad_rows)
#define NGOOD 5

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

/* DIR/posts.db with untyped columns (any value keeps its type): NGOOD valid rows, every bad one. */
static void write_hostile_db(const char *path)
{
    sqlite3 *db;
    unlink(path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec_sql(db, "CREATE TABLE posts(id, author_id, author_followers, created_at, lang, text, "
                 "media, reactions, comments, shares)");
    char sql[512];
    for (int i = 1; i <= NGOOD; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO posts VALUES(%d, " GOOD_REST ")", i);
        exec_sql(db, sql);
    }
    for (size_t i = 0; i < NBAD; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO posts VALUES(%s, %s)", bad_rows[i].id_sql,
                 bad_rows[i].sql);
        exec_sql(db, sql);
    }
    sqlite3_close(db);
}

/* Every bad row rejected once, with its id, kind and reason; the valid ids 1..NGOOD loaded. */
static void check_hostile(posts_source *src, reject_log *log, const char *source)
{
    posts_batch b = {0};
    posts_err err = {{0}};
    size_t n = 0;
    int64_t ids[64];
    long got;
    while ((got = posts_source_next(src, &b, 3, &err)) > 0) {
        for (size_t i = 0; i < b.n && n < 64; i++) {
            ids[n++] = b.posts[i].id;
        }
        posts_batch_clear(&b);
    }
    posts_batch_release(&b);
    if (got < 0)
        fail_msg("%s: %s", source, err.msg);
    assert_int_equal(n, NGOOD);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], (int64_t)i + 1);
    posts_source_stats st;
    posts_source_stats_get(src, &st);
    assert_int_equal(st.posts, NGOOD);
    assert_int_equal(st.rows_rejected, NBAD);
    assert_int_equal(st.duplicate_ids, 1);
    assert_int_equal(log->n, (int)NBAD);
    assert_true(st.first_reject[0] != '\0');
    for (size_t i = 0; i < NBAD; i++) {
        const bad_row *br = &bad_rows[i];
        const seen_reject *r = find_reject(log, br->has_id, br->id, br->kind);
        if (!br->has_id) /* NULL and text ids: find the one with this reason */
            for (int k = 0; k < log->n; k++)
                if (!log->r[k].has_id && strstr(log->r[k].why, br->reason))
                    r = &log->r[k];
        if (!r)
            fail_msg("%s: no %s reject for id %s", source, posts_reject_kind_name(br->kind),
                     br->id_sql);
        if (!strstr(r->why, br->reason))
            fail_msg("%s: id %s: reason '%s' lacks '%s'", source, br->id_sql, r->why, br->reason);
        assert_string_equal(r->source, source);
        assert_true(r->row >= 1 && r->row <= NGOOD + NBAD);
    }
}

static void sqlite_hostile_rows(void **state)
{
    (void)state;
    char d[80], path[160];
    snprintf(d, sizeof d, "%s/hostile", dir);
    mkdir(d, 0755);
    snprintf(path, sizeof path, "%s/posts.db", d);
    write_hostile_db(path);
    double dup0 = rejected_metric("sqlite", "duplicate"), type0 = rejected_metric("sqlite", "type");
    reject_log log = {0};
    posts_source *src;
    posts_err err;
    assert_int_equal(posts_source_open_sqlite(path, &src, &err), PP_OK);
    posts_source_on_reject(src, log_reject, &log);
    check_hostile(src, &log, "sqlite");
    posts_source_close(src);
    /* the metric counts them by kind */
    assert_true(rejected_metric("sqlite", "duplicate") - dup0 == 1.0);
    assert_true(rejected_metric("sqlite", "type") - type0 == 5.0);

    /* the API server over the same file serves only the valid posts, once each */
    posts_api_server *srv;
    assert_int_equal(posts_api_server_start(path, NULL, 0, 1, &srv, &err), PP_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)posts_api_server_port(srv));
    posts_api_opts o = {.keep_alive = 1, .concurrency = 2};
    assert_int_equal(posts_source_open_api(url, &o, &src, &err), PP_OK);
    static uint64_t h[64];
    assert_int_equal(drain(src, 2, h, 64), NGOOD);
    posts_source_stats st;
    posts_source_stats_get(src, &st);
    assert_int_equal(st.rows_rejected, 0);
    posts_source_close(src);
    posts_api_server_stop(srv);

    /* the pipeline over it: valid rows load, the rejects are counted */
    posts_config cfg;
    posts_config_init(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", d);
    cfg.sources = POSTS_SRC_DATABASE;
    reject_log log2 = {0};
    assert_int_equal(posts_open_source(&cfg, POSTS_SRC_DATABASE, log_reject, &log2, &src, &err),
                     PP_OK);
    check_hostile(src, &log2, "sqlite");
    posts_source_close(src);
}

/* A line per bad case, in JSON, between valid lines. */
static void jsonl_hostile_rows(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof path, "%s/hostile.jsonl", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
#define GOOD_JSON(id)                                                                              \
    "{\"id\":" id ",\"author_id\":7,\"author_followers\":100,\"created_at\":1700000000,"           \
    "\"lang\":\"en\",\"text\":\"hello world\",\"media\":\"none\",\"reactions\":1,\"comments\":2,"  \
    "\"shares\":3}"
    static const struct {
        const char *line;
        int has_id;
        int64_t id;
        int kind;
        const char *reason;
    } bad[] = {
        {"{\"id\":10,\"author_id\":null,\"author_followers\":100,\"created_at\":0,\"lang\":\"en\","
         "\"text\":\"x\",\"media\":\"none\",\"reactions\":1,\"comments\":2,\"shares\":3}",
         1, 10, POSTS_REJECT_MISSING, "field \"author_id\" is NULL"},
        {"{\"id\":11,\"author_id\":\"abc\",\"author_followers\":100,\"created_at\":0,\"lang\":"
         "\"en\",\"text\":\"x\",\"media\":\"none\",\"reactions\":1,\"comments\":2,\"shares\":3}",
         1, 11, POSTS_REJECT_TYPE, "field \"author_id\" must be an integer"},
        {"{\"id\":12,\"author_id\":7,\"author_followers\":100,\"created_at\":0,\"lang\":"
         "\"abcdefghijk\",\"text\":\"x\",\"media\":\"none\",\"reactions\":1,\"comments\":2,"
         "\"shares\":3}",
         1, 12, POSTS_REJECT_RANGE, "field \"lang\" must be 1 to 3 ASCII letters"},
        {"{\"id\":13,\"author_id\":7,\"author_followers\":100,\"created_at\":0,\"lang\":\"en\","
         "\"text\":\"x\",\"media\":\"hologram\",\"reactions\":1,\"comments\":2,\"shares\":3}",
         1, 13, POSTS_REJECT_RANGE, "field \"media\" must be"},
        {"{\"id\":14,\"author_id\":7,\"author_followers\":100,\"created_at\":0,\"lang\":\"en\","
         "\"text\":\"x\",\"media\":\"none\",\"reactions\":-5,\"comments\":2,\"shares\":3}",
         1, 14, POSTS_REJECT_RANGE, "field \"reactions\" out of range (-5 < 0)"},
        {GOOD_JSON("-3"), 1, -3, POSTS_REJECT_RANGE, "field \"id\" out of range (-3 < 1)"},
        {"{\"id\":16,\"author_id\":7.5,\"author_followers\":100,\"created_at\":0,\"lang\":\"en\","
         "\"text\":\"x\",\"media\":\"none\",\"reactions\":1,\"comments\":2,\"shares\":3}",
         1, 16, POSTS_REJECT_TYPE, "field \"author_id\" must be an integer"},
        {GOOD_JSON("2"), 1, 2, POSTS_REJECT_DUPLICATE, "duplicate id"},
        {GOOD_JSON("null"), 0, 0, POSTS_REJECT_MISSING, "field \"id\" is NULL"},
        {"{\"id\":20}", 1, 20, POSTS_REJECT_MISSING, "missing field \"author_id\""},
        {"{\"id\":true}", 0, 0, POSTS_REJECT_TYPE, "field \"id\" must be an integer"},
    };
    size_t nb = sizeof bad / sizeof *bad;
    /* lines: 1 and 2 valid, then bad[i] at line 3 + 2i followed by nothing or a valid one */
    fprintf(f, "%s\n%s\n", GOOD_JSON("1"), GOOD_JSON("2"));
    int next_good = 3;
    for (size_t i = 0; i < nb; i++) {
        fprintf(f, "%s\n", bad[i].line);
        if (next_good <= NGOOD)
            fprintf(f,
                    "{\"id\":%d,\"author_id\":7,\"author_followers\":100,\"created_at\":"
                    "1700000000,\"lang\":\"en\",\"text\":\"hello world\",\"media\":\"none\","
                    "\"reactions\":1,\"comments\":2,\"shares\":3}\n",
                    next_good++);
        else
            fprintf(f, "\n"); /* an empty line: rejected too */
    }
    fclose(f);
    reject_log log = {0};
    posts_source *src;
    posts_err err;
    assert_int_equal(posts_source_open_jsonl(path, 0, &src, &err), PP_OK);
    posts_source_on_reject(src, log_reject, &log);
    static uint64_t h[64];
    assert_int_equal(drain(src, 4, h, 64), NGOOD);
    posts_source_stats st;
    posts_source_stats_get(src, &st);
    size_t empties = nb - (NGOOD - 2);
    assert_int_equal(st.rows_rejected, nb + empties);
    assert_int_equal(st.duplicate_ids, 1);
    for (size_t i = 0; i < nb; i++) {
        uint64_t line = 3 + 2 * i;
        const seen_reject *r = NULL;
        for (int k = 0; k < log.n; k++)
            if (log.r[k].row == line)
                r = &log.r[k];
        if (!r)
            fail_msg("line %llu not rejected", (unsigned long long)line);
        if (!strstr(r->why, bad[i].reason))
            fail_msg("line %llu: '%s' lacks '%s'", (unsigned long long)line, r->why, bad[i].reason);
        assert_int_equal(r->kind, bad[i].kind);
        assert_int_equal(r->has_id, bad[i].has_id);
        if (bad[i].has_id)
            assert_int_equal(r->id, bad[i].id);
        assert_string_equal(r->source, "jsonl");
    }
    posts_source_close(src);
}

/* A page whose posts are partly bad, from a server that is not ours. */
static const char hostile_page[] =
    "{\"posts\":["
    "{\"id\":1,\"author_id\":7,\"author_followers\":100,\"created_at\":0,\"lang\":\"en\","
    "\"text\":\"ok\",\"media\":\"none\",\"reactions\":1,\"comments\":2,\"shares\":3},"
    "{\"id\":2,\"author_id\":null,\"author_followers\":100,\"created_at\":0,\"lang\":\"en\","
    "\"text\":\"x\",\"media\":\"none\",\"reactions\":1,\"comments\":2,\"shares\":3},"
    "\"not a post\","
    "{\"id\":3,\"author_id\":7,\"author_followers\":100,\"created_at\":0,\"lang\":\"en\","
    "\"text\":\"ok\",\"media\":\"video\",\"reactions\":1,\"comments\":2,\"shares\":3},"
    "{\"id\":1,\"author_id\":7,\"author_followers\":100,\"created_at\":0,\"lang\":\"en\","
    "\"text\":\"again\",\"media\":\"none\",\"reactions\":1,\"comments\":2,\"shares\":3},"
    "{\"id\":4,\"author_id\":7,\"author_followers\":-1,\"created_at\":0,\"lang\":\"en\","
    "\"text\":\"x\",\"media\":\"none\",\"reactions\":1,\"comments\":2,\"shares\":3}"
    "],\"next_cursor\":null}";

static enum MHD_Result serve_hostile(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version, const char *upload,
                                     size_t *upload_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    (void)con_cls;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        sizeof hostile_page - 1, (void *)hostile_page, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static void api_hostile_posts(void **state)
{
    (void)state;
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL,
                                            serve_hostile, NULL, MHD_OPTION_END);
    assert_non_null(d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)info->port);
    posts_source *src;
    posts_err err;
    posts_api_opts o = {.keep_alive = 1, .concurrency = 1};
    assert_int_equal(posts_source_open_api(url, &o, &src, &err), PP_OK);
    reject_log log = {0};
    posts_source_on_reject(src, log_reject, &log);
    static uint64_t h[16];
    assert_int_equal(drain(src, 10, h, 16), 2); /* ids 1 and 3 */
    posts_source_stats st;
    posts_source_stats_get(src, &st);
    assert_int_equal(st.rows_rejected, 4);
    assert_int_equal(st.duplicate_ids, 1);
    assert_int_equal(log.n, 4);
    static const struct {
        uint64_t row;
        int has_id;
        int64_t id;
        int kind;
        const char *reason;
    } want[] = {{2, 1, 2, POSTS_REJECT_MISSING, "field \"author_id\" is NULL"},
                {3, 0, 0, POSTS_REJECT_MALFORMED, "not a JSON object"},
                {5, 1, 1, POSTS_REJECT_DUPLICATE, "duplicate id"},
                {6, 1, 4, POSTS_REJECT_RANGE, "field \"author_followers\" out of range"}};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(log.r[i].row, want[i].row);
        assert_int_equal(log.r[i].has_id, want[i].has_id);
        assert_int_equal(log.r[i].id, want[i].id);
        assert_int_equal(log.r[i].kind, want[i].kind);
        assert_string_equal(log.r[i].source, "api");
        if (!strstr(log.r[i].why, want[i].reason))
            fail_msg("post %d: '%s' lacks '%s'", i, log.r[i].why, want[i].reason);
    }
    posts_source_close(src);
    MHD_stop_daemon(d);
}

/* A FIFO, a character device and a directory: refused at once, never read. */
static void special_files_refused(void **state)
{
    (void)state;
    char fifo[160], link[160];
    snprintf(fifo, sizeof fifo, "%s/fifo.jsonl", dir);
    snprintf(link, sizeof link, "%s/zero.jsonl", dir);
    unlink(fifo);
    unlink(link);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(symlink("/dev/zero", link), 0);
    struct {
        const char *path, *what;
    } cases[] = {{fifo, "a FIFO"},
                 {link, "a character device"},
                 {"/dev/zero", "a character device"},
                 {dir, "a directory"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        posts_source *src = (posts_source *)1;
        posts_err err = {{0}};
        assert_int_equal(posts_source_open_jsonl(cases[i].path, 0, &src, &err), PP_EIO);
        assert_null(src);
        if (!strstr(err.msg, cases[i].what) || !strstr(err.msg, cases[i].path))
            fail_msg("jsonl %s: '%s'", cases[i].path, err.msg);
        src = (posts_source *)1;
        assert_int_equal(posts_source_open_sqlite(cases[i].path, &src, &err), PP_EIO);
        assert_null(src);
        if (!strstr(err.msg, cases[i].what))
            fail_msg("sqlite %s: '%s'", cases[i].path, err.msg);
        posts_api_server *srv = NULL;
        assert_int_equal(posts_api_server_start(cases[i].path, NULL, 0, 1, &srv, &err), PP_EIO);
        assert_null(srv);
    }
    unlink(fifo);
    unlink(link);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(sqlite_hostile_rows),
    cmocka_unit_test(jsonl_hostile_rows),
    cmocka_unit_test(special_files_refused),
    cmocka_unit_test(api_hostile_posts),
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
