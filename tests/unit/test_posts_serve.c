/*
 * test_posts_serve.c - The pipeline as a service (posts/serve.h): requests
 * served while the sources are reloaded and swapped in; the detector judges
 * windows and counts a 10-entry cache's low hit ratio in
 * bottleneck_detected_total; stop drains and the report counts every request;
 * --rate bounds the requests; bad windows are refused; the key-only LRU that
 * estimates a node-local cache beside a shared one hits and misses exactly as
 * a plain move-to-front list does. Labelled threaded (the worker, refresher
 * and detector run under TSan).
 */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "pp_test.h"
#include "posts_test_util.h"
#include "../../posts/src/serve_lru.h"

#define N 600

static char dir[64];

PT_DATA_FIXTURE(dir, N, 5, 1, NULL)

static pp_registry *new_registry(void)
{
    pp_registry *r = NULL;
    assert_int_equal(pp_registry_new(NULL, &r), PP_OK);
    assert_int_equal(pp_metrics_register_standard(r), PP_OK);
    return r;
}

static void base_opts(posts_service_opts *o, pp_registry *r)
{
    posts_service_opts_init(o);
    snprintf(o->cfg.data_dir, sizeof o->cfg.data_dir, "%s", dir);
    o->cfg.batch_size = 64;
    o->registry = r;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Poll the service's figures until ok() holds. No deadline of its own: on
 * a machine running five test suites at once the TSan build took more than
 * 60 s for three 0.2 s detection windows, and a fixed deadline failed a
 * service that was only slow (a hang is ctest's timeout to catch). What it
 * has reached so far goes to stderr every 30 s, for that case. */
static void wait_stats(posts_service *s, int (*ok)(const posts_service_stats *),
                       posts_service_stats *st)
{
    double next = mono_s() + 30;
    for (;;) {
        posts_service_stats_get(s, st);
        if (ok(st))
            return;
        if (mono_s() > next) {
            fprintf(stderr, "still waiting: %llu requests, %llu reloads, %llu windows\n",
                    (unsigned long long)st->requests, (unsigned long long)st->refreshes,
                    (unsigned long long)st->windows);
            next += 30;
        }
        struct timespec d = {0, 10000000};
        nanosleep(&d, NULL);
    }
}

static int busy_enough(const posts_service_stats *st)
{
    return st->requests >= 200 && st->refreshes >= 2 && st->windows >= 3 && st->findings >= 1;
}

static void serves_reloads_and_detects(void **state)
{
    (void)state;
    pp_registry *reg = new_registry();
    posts_service_opts o;
    base_opts(&o, reg);
    o.cfg.cache_entries = 10; /* far under the popular posts: the hit ratio stays low */
    o.refresh_s = 0.2;
    o.window_s = 0.2;
    o.detect_every_s = 0.05;
    posts_service *s = NULL;
    posts_err err = {{0}};
    int rc = posts_service_new(&o, &s, &err);
    if (rc != PP_OK)
        fail_msg("new: %s", err.msg);
    assert_false(posts_service_ready(s));
    assert_int_equal(posts_service_start(s), PP_OK);
    assert_int_equal(posts_service_start(s), PP_ESTATE);
    assert_true(posts_service_ready(s));
    posts_service_stats st;
    wait_stats(s, busy_enough, &st);
    posts_service_stop(s);
    assert_false(posts_service_ready(s));
    posts_service_stop(s); /* idempotent */
    posts_service_stats_get(s, &st);
    assert_int_equal(st.request_errors, 0);
    assert_int_equal(st.posts, N);
    assert_true(st.window_hit_ratio >= 0 && st.window_hit_ratio < 0.8);

    /* the detector's findings are in the registry */
    pp_metric *m = pp_registry_find(reg, "bottleneck_detected_total");
    const char *lv[] = {"cache", "cache_hit"};
    pp_series *ser = NULL;
    assert_int_equal(pp_metric_series(m, lv, &ser), PP_OK);
    assert_true(pp_series_value(ser) >= 1);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(pp_registry_render(reg, PP_EXPO_TEXT, &text, &len), PP_OK);
    assert_non_null(strstr(text, "cache_hit_ratio "));
    assert_non_null(strstr(text, "postprof_cache_lookups_total{result=\"miss\"}"));
    free(text);

    /* the report: the last window was judged after the worker stopped */
    char *js = NULL;
    assert_int_equal(posts_service_report_json(s, "n1", &js), PP_OK);
    json_error_t je;
    json_t *doc = json_loads(js, 0, &je);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "node")), "n1");
    assert_int_equal(json_integer_value(json_object_get(doc, "requests")), (json_int_t)st.requests);
    json_t *ops = json_object_get(doc, "operations"), *op;
    size_t i;
    json_int_t served = -1;
    json_array_foreach(ops, i, op)
    {
        if (strcmp(json_string_value(json_object_get(op, "operation")), "posts.serve.request") == 0)
            served = json_integer_value(json_object_get(op, "count"));
    }
    assert_int_equal(served, (json_int_t)st.requests);
    json_t *found = json_object_get(json_object_get(doc, "bottlenecks"), "found");
    int cache_found = 0;
    json_array_foreach(found, i, op)
    {
        cache_found |= strcmp(json_string_value(json_object_get(op, "kind")), "cache_hit") == 0;
    }
    assert_true(cache_found);
    json_decref(doc);
    free(js);
    posts_service_free(s);
    pp_registry_free(reg);
}

static int some_requests(const posts_service_stats *st)
{
    return st->requests >= 20;
}

static void rate_bounds_requests(void **state)
{
    (void)state;
    pp_registry *reg = new_registry();
    posts_service_opts o;
    base_opts(&o, reg);
    o.rate = 100;
    o.refresh_s = 0;
    posts_service *s = NULL;
    posts_err err = {{0}};
    assert_int_equal(posts_service_new(&o, &s, &err), PP_OK);
    assert_int_equal(posts_service_start(s), PP_OK);
    posts_service_stats st;
    wait_stats(s, some_requests, &st);
    posts_service_stop(s);
    posts_service_stats_get(s, &st);
    /* paced from the start: at most one request per 10 ms, plus the first */
    assert_true((double)st.requests <= 100.0 * st.uptime_s + 1.0);
    assert_int_equal(st.refreshes, 0);
    posts_service_free(s);
    pp_registry_free(reg);
}

static void bad_options_refused(void **state)
{
    (void)state;
    pp_registry *reg = new_registry();
    posts_service_opts o;
    posts_service *s = (posts_service *)&o;
    posts_err err = {{0}};
    base_opts(&o, reg);
    o.window_s = 1;
    o.detect_every_s = 2;
    assert_int_equal(posts_service_new(&o, &s, &err), PP_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "window"));
    base_opts(&o, reg);
    o.rate = -1;
    assert_int_equal(posts_service_new(&o, &s, &err), PP_EINVAL);
    base_opts(&o, NULL);
    assert_int_equal(posts_service_new(&o, &s, &err), PP_EINVAL);
    base_opts(&o, reg);
    snprintf(o.cfg.data_dir, sizeof o.cfg.data_dir, "%s/missing", dir);
    assert_int_not_equal(posts_service_new(&o, &s, &err), PP_OK);
    assert_null(s);
    posts_service_free(NULL);
    pp_registry_free(reg);
}

/* The key LRU against a move-to-front list of the same capacity, on a
 * skewed random sequence of gets, each miss then put (as a request does). */
static void key_lru_matches_reference(void **state)
{
    (void)state;
    enum { CAP = 50, KEYS = 300, OPS = 20000 };
    posts__key_lru *l = NULL;
    assert_int_equal(posts__key_lru_new(0, &l), PP_EINVAL);
    assert_null(l);
    assert_int_equal(posts__key_lru_new(CAP, &l), PP_OK);
    int64_t ref[CAP];
    size_t rn = 0;
    uint64_t x = 88172645463325252ull, hits = 0;
    for (int op = 0; op < OPS; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* the square of a uniform: small keys more often, as popular posts are */
        double u = (double)(x >> 11) / 9007199254740992.0;
        int64_t key = (int64_t)(u * u * KEYS) * 7919 - 1000; /* spread, some negative */
        size_t at = rn;
        for (size_t i = 0; i < rn; i++)
            if (ref[i] == key)
                at = i;
        int want = at < rn;
        if (!want)
            at = rn < CAP ? rn++ : CAP - 1; /* a miss takes the least recent place */
        memmove(&ref[1], &ref[0], at * sizeof *ref);
        ref[0] = key;
        int got = posts__key_lru_get(l, key);
        assert_int_equal(got, want);
        if (!got)
            posts__key_lru_put(l, key);
        hits += (uint64_t)got;
        assert_int_equal(posts__key_lru_size(l), rn);
    }
    /* neither all hits nor all misses: the sequence exercised eviction */
    assert_true(hits > OPS / 10 && hits < OPS - OPS / 10);
    posts__key_lru_put(l, ref[0]); /* already held: stays, nothing evicted */
    assert_int_equal(posts__key_lru_size(l), CAP);
    for (size_t i = 0; i < CAP; i++)
        assert_int_equal(posts__key_lru_get(l, ref[i]), 1);
    posts__key_lru_free(l);
    posts__key_lru_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_lru_matches_reference),
        cmocka_unit_test(serves_reloads_and_detects),
        cmocka_unit_test(rate_bounds_requests),
        cmocka_unit_test(bad_options_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
