/*
 * test_registry.c - Metrics registry: validation, series handles, exact sums
 * under concurrent updates, the cardinality bound, and the exposition
 * (text 0.0.4 and OpenMetrics, escaping, buckets, Accept negotiation).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>

#include "pp_test.h"

static pp_registry *new_reg(size_t max_series)
{
    pp_registry_config cfg = {.max_series = max_series};
    pp_registry *r = NULL;
    assert_int_equal(pp_registry_new(&cfg, &r), PP_OK);
    assert_non_null(r);
    return r;
}

__attribute__((noinline)) static char *render(pp_registry *r, int format)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(pp_registry_render(r, format, &text, &len), PP_OK);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_names_validated(void **state)
{
    (void)state;
    pp_registry *r = new_reg(0);
    pp_metric *m = (pp_metric *)1;
    const char *le[] = {"le"}, *dunder[] = {"__x"}, *bad[] = {"a-b"}, *ok[] = {"a"};
    assert_int_equal(pp_registry_counter(r, "no_suffix", "h", 0, NULL, &m), PP_EINVAL);
    assert_null(m);
    assert_int_equal(pp_registry_gauge(r, "1abc", "h", 0, NULL, &m), PP_EINVAL);
    assert_int_equal(pp_registry_gauge(r, "a b", "h", 0, NULL, &m), PP_EINVAL);
    assert_int_equal(pp_registry_gauge(r, "g", "h", 1, le, &m), PP_EINVAL);
    assert_int_equal(pp_registry_gauge(r, "g", "h", 1, dunder, &m), PP_EINVAL);
    assert_int_equal(pp_registry_gauge(r, "g", "h", 1, bad, &m), PP_EINVAL);
    assert_int_equal(pp_registry_gauge(r, "g", "bad \xff help", 1, ok, &m), PP_EINVAL);
    double desc[] = {2, 1}, nan_b[] = {NAN};
    assert_int_equal(pp_registry_histogram(r, "h", "h", 0, NULL, desc, 2, &m), PP_EINVAL);
    assert_int_equal(pp_registry_histogram(r, "h", "h", 0, NULL, nan_b, 1, &m), PP_EINVAL);
    /* same name again: the same metric; other shape: EEXIST */
    pp_metric *a, *b;
    assert_int_equal(pp_registry_gauge(r, "g", "h", 1, ok, &a), PP_OK);
    assert_int_equal(pp_registry_gauge(r, "g", "h", 1, ok, &b), PP_OK);
    assert_ptr_equal(a, b);
    assert_ptr_equal(pp_registry_find(r, "g"), a);
    assert_int_equal(pp_registry_gauge(r, "g", "h", 0, NULL, &b), PP_EEXIST);
    assert_int_equal(pp_registry_counter(r, "g_total", "h", 0, NULL, &b), PP_OK);
    assert_int_equal(pp_metric_kind(b), PP_METRIC_COUNTER);
    /* label values: valid UTF-8, bounded */
    pp_series *s = (pp_series *)1;
    const char *badv[] = {"\xc3\x28"};
    assert_int_equal(pp_metric_series(a, badv, &s), PP_EINVAL);
    assert_null(s);
    char *big = malloc(PP_METRICS_MAX_LABEL_VALUE + 2);
    memset(big, 'x', PP_METRICS_MAX_LABEL_VALUE + 1);
    big[PP_METRICS_MAX_LABEL_VALUE + 1] = '\0';
    const char *bigv[] = {big};
    assert_int_equal(pp_metric_series(a, bigv, &s), PP_EINVAL);
    free(big);
    assert_int_equal(pp_metric_series(a, NULL, &s), PP_EINVAL);
    pp_registry_free(r);
    pp_registry_free(NULL);
}

static void test_series_handles_and_values(void **state)
{
    (void)state;
    pp_registry *r = new_reg(0);
    pp_metric *c, *g;
    const char *l[] = {"k"};
    assert_int_equal(pp_registry_counter(r, "c_total", "c", 1, l, &c), PP_OK);
    assert_int_equal(pp_registry_gauge(r, "g", "g", 0, NULL, &g), PP_OK);
    pp_series *s1, *s2, *s3, *gs;
    assert_int_equal(pp_metric_series(c, (const char *const[]){"x"}, &s1), PP_OK);
    assert_int_equal(pp_metric_series(c, (const char *const[]){"x"}, &s2), PP_OK);
    assert_int_equal(pp_metric_series(c, (const char *const[]){"y"}, &s3), PP_OK);
    assert_ptr_equal(s1, s2);
    assert_ptr_not_equal(s1, s3);
    assert_int_equal(pp_metric_series_count(c), 2);
    pp_series_inc(s1);
    pp_series_add(s1, 2.5);
    pp_series_add(s1, -1);  /* counters never go down */
    pp_series_add(s1, NAN); /* ignored */
    pp_series_set(s1, 100); /* wrong kind: no effect */
    assert_true(pp_series_value(s1) == 3.5);
    assert_true(pp_series_value(s3) == 0);
    assert_int_equal(pp_metric_series(g, NULL, &gs), PP_OK);
    pp_series_set(gs, 7);
    pp_series_add(gs, -2.5);
    assert_true(pp_series_value(gs) == 4.5);
    pp_series_observe(gs, 1); /* wrong kind */
    assert_true(pp_series_value(gs) == 4.5);
    pp_series_inc(NULL);
    pp_series_observe(NULL, 1);
    pp_registry_free(r);
}

#define THREADS 4
#define PER_THREAD 200000

struct worker_arg {
    pp_series *c, *h;
};

static void *hammer(void *p)
{
    struct worker_arg *a = p;
    for (int i = 0; i < PER_THREAD; i++) {
        pp_series_inc(a->c);
        pp_series_observe(a->h, (double)(i % 4)); /* 0,1,2,3 */
    }
    return NULL;
}

static void *scrape(void *p)
{
    pp_registry *r = p;
    for (int i = 0; i < 20; i++) {
        char *t = NULL;
        size_t n;
        if (pp_registry_render(r, i % 2, &t, &n) == PP_OK)
            free(t);
    }
    return NULL;
}

/* Counts from several threads (and more threads than slots over time) add up exactly. */
static void test_concurrent_updates_exact(void **state)
{
    (void)state;
    pp_registry *r = new_reg(0);
    pp_metric *c, *h;
    double bounds[] = {0.5, 1.5, 2.5};
    assert_int_equal(pp_registry_counter(r, "ops_total", "ops", 0, NULL, &c), PP_OK);
    assert_int_equal(pp_registry_histogram(r, "lat", "lat", 0, NULL, bounds, 3, &h), PP_OK);
    struct worker_arg a;
    assert_int_equal(pp_metric_series(c, NULL, &a.c), PP_OK);
    assert_int_equal(pp_metric_series(h, NULL, &a.h), PP_OK);
    for (int round = 0; round < 6; round++) { /* 24 threads in all: slots get reused */
        pthread_t t[THREADS], sc;
        pthread_create(&sc, NULL, scrape, r);
        for (int i = 0; i < THREADS; i++)
            pthread_create(&t[i], NULL, hammer, &a);
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        pthread_join(sc, NULL);
    }
    double n = 6.0 * THREADS * PER_THREAD;
    assert_true(pp_series_value(a.c) == n);
    assert_int_equal(pp_series_count(a.h), (uint64_t)n);
    assert_true(pp_series_value(a.h) == n / 4 * (0 + 1 + 2 + 3));
    char *text = render(r, PP_EXPO_TEXT);
    char expect[512];
    snprintf(expect, sizeof expect,
             "lat_bucket{le=\"0.5\"} %.0f\nlat_bucket{le=\"1.5\"} %.0f\n"
             "lat_bucket{le=\"2.5\"} %.0f\nlat_bucket{le=\"+Inf\"} %.0f\n",
             n / 4, n / 2, 3 * n / 4, n);
    assert_non_null(strstr(text, expect));
    free(text);
    pp_registry_free(r);
}

static void test_cardinality_bound(void **state)
{
    (void)state;
    pp_registry *r = new_reg(5);
    pp_metric *m;
    const char *l[] = {"id"};
    assert_int_equal(pp_registry_gauge(r, "per_id", "h", 1, l, &m), PP_OK);
    pp_log_set_level(PP_LOG_OFF);
    int ok = 0, full = 0;
    for (int i = 0; i < 50; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        pp_series *s = NULL;
        int rc = pp_metric_series(m, (const char *const[]){v}, &s);
        ok += rc == PP_OK;
        full += rc == PP_EFULL;
        if (rc == PP_EFULL)
            assert_null(s);
    }
    pp_log_set_level(PP_LOG_WARN);
    assert_int_equal(ok, 5);
    assert_int_equal(full, 45);
    assert_int_equal(pp_metric_series_count(m), 5);
    /* an existing label set is still reachable */
    pp_series *s;
    assert_int_equal(pp_metric_series(m, (const char *const[]){"3"}, &s), PP_OK);
    char *text = render(r, PP_EXPO_TEXT);
    assert_non_null(strstr(text, "postprof_series_dropped_total 45\n"));
    free(text);
    pp_registry_free(r);
}

static void test_render_text_golden(void **state)
{
    (void)state;
    pp_registry *r = new_reg(0);
    pp_metric *c, *h;
    const char *l[] = {"path", "who"};
    assert_int_equal(pp_registry_counter(r, "req_total", "Requests \\ served\nby path.", 2, l, &c),
                     PP_OK);
    pp_series *s;
    const char *v[] = {"a\"b\\c\nd", "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93"};
    assert_int_equal(pp_metric_series(c, v, &s), PP_OK);
    pp_series_add(s, 0.1);
    pp_series_add(s, 0.2);
    double b[] = {0.001, 1, 2.5};
    assert_int_equal(pp_registry_histogram(r, "d_seconds", "D.", 0, NULL, b, 3, &h), PP_OK);
    assert_int_equal(pp_metric_series(h, NULL, &s), PP_OK);
    pp_series_observe(s, 0.0005);
    pp_series_observe(s, 1);
    pp_series_observe(s, 100);
    char *text = render(r, PP_EXPO_TEXT);
    const char *expect =
        "# HELP postprof_series_dropped_total Label sets refused because their metric held its "
        "maximum of series.\n"
        "# TYPE postprof_series_dropped_total counter\n"
        "postprof_series_dropped_total 0\n"
        "# HELP req_total Requests \\\\ served\\nby path.\n"
        "# TYPE req_total counter\n"
        "req_total{path=\"a\\\"b\\\\c\\nd\",who=\"\xc3\xa9t\xc3\xa9 \xe2\x9c\x93\"} "
        "0.30000000000000004\n"
        "# HELP d_seconds D.\n"
        "# TYPE d_seconds histogram\n"
        "d_seconds_bucket{le=\"0.001\"} 1\n"
        "d_seconds_bucket{le=\"1.0\"} 2\n"
        "d_seconds_bucket{le=\"2.5\"} 2\n"
        "d_seconds_bucket{le=\"+Inf\"} 3\n"
        "d_seconds_sum 101.0005\n"
        "d_seconds_count 3\n";
    assert_string_equal(text, expect);
    free(text);
    text = render(r, PP_EXPO_OPENMETRICS);
    assert_non_null(strstr(text, "# TYPE req counter\n"));
    assert_non_null(strstr(text, "# HELP req Requests \\\\ served\\nby path.\n"));
    assert_non_null(strstr(text, "\nreq_total{path="));
    assert_non_null(strstr(text, "# TYPE d_seconds histogram\n"));
    size_t n = strlen(text);
    assert_true(n > 6 && strcmp(text + n - 6, "# EOF\n") == 0);
    free(text);
    pp_registry_free(r);
}

static void test_mirror(void **state)
{
    (void)state;
    pp_registry *r = new_reg(0);
    pp_metric *c, *h;
    pp_series *cs, *hs;
    double b[] = {1, 2};
    assert_int_equal(pp_registry_counter(r, "m_total", "m", 0, NULL, &c), PP_OK);
    assert_int_equal(pp_registry_histogram(r, "mh", "m", 0, NULL, b, 2, &h), PP_OK);
    assert_int_equal(pp_metric_series(c, NULL, &cs), PP_OK);
    assert_int_equal(pp_metric_series(h, NULL, &hs), PP_OK);
    pp_series_mirror_counter(cs, 42.5);
    pp_series_mirror_counter(cs, 43.5);
    assert_true(pp_series_value(cs) == 43.5);
    uint64_t cum[] = {3, 5};
    pp_series_mirror_histogram(hs, cum, 2, 9, 17.25);
    pp_series_mirror_histogram(hs, cum, 3, 100, 1); /* wrong bound count: ignored */
    assert_int_equal(pp_series_count(hs), 9);
    char *text = render(r, PP_EXPO_TEXT);
    assert_non_null(strstr(text, "mh_bucket{le=\"1.0\"} 3\nmh_bucket{le=\"2.0\"} 5\n"
                                 "mh_bucket{le=\"+Inf\"} 9\nmh_sum 17.25\nmh_count 9\n"));
    free(text);
    pp_registry_free(r);
}

static int seen;
static void hook(pp_registry *r, void *ctx)
{
    (void)r;
    seen += *(int *)ctx;
}

static void test_hooks(void **state)
{
    (void)state;
    pp_registry *r = new_reg(0);
    int one = 1;
    seen = 0;
    for (int i = 0; i < 16; i++)
        assert_int_equal(pp_registry_add_hook(r, hook, &one, NULL), PP_OK);
    assert_int_equal(pp_registry_add_hook(r, hook, &one, NULL), PP_EFULL);
    assert_int_equal(pp_registry_add_hook(r, NULL, &one, NULL), PP_EINVAL);
    free(render(r, PP_EXPO_TEXT));
    assert_int_equal(seen, 16);
    char *t = (char *)1;
    size_t n = 1;
    assert_int_equal(pp_registry_render(r, 7, &t, &n), PP_EINVAL);
    assert_null(t);
    assert_int_equal(n, 0);
    pp_registry_free(r);
}

static void test_negotiate(void **state)
{
    (void)state;
    assert_int_equal(pp_expo_negotiate(NULL), PP_EXPO_TEXT);
    assert_int_equal(pp_expo_negotiate(""), PP_EXPO_TEXT);
    assert_int_equal(pp_expo_negotiate("*/*"), PP_EXPO_TEXT);
    assert_int_equal(pp_expo_negotiate("text/plain"), PP_EXPO_TEXT);
    /* what Prometheus 2.42 sends */
    assert_int_equal(pp_expo_negotiate("application/openmetrics-text;version=1.0.0,application/"
                                       "openmetrics-text;version=0.0.1;q=0.75,text/plain;"
                                       "version=0.0.4;q=0.5,*/*;q=0.1"),
                     PP_EXPO_OPENMETRICS);
    assert_int_equal(pp_expo_negotiate("application/openmetrics-text"), PP_EXPO_OPENMETRICS);
    assert_int_equal(pp_expo_negotiate("Application/OpenMetrics-Text ; Version=\"1.0.0\""),
                     PP_EXPO_OPENMETRICS);
    assert_int_equal(pp_expo_negotiate("application/openmetrics-text;version=0.0.1"), PP_EXPO_TEXT);
    assert_int_equal(pp_expo_negotiate("application/openmetrics-text;q=0"), PP_EXPO_TEXT);
    assert_int_equal(pp_expo_negotiate("application/openmetrics-text;q=0.5,text/plain"),
                     PP_EXPO_TEXT);
    assert_int_equal(pp_expo_negotiate("text/plain;q=0.2, application/openmetrics-text;q=0.9"),
                     PP_EXPO_OPENMETRICS);
    assert_int_equal(pp_expo_negotiate("application/openmetrics-text;q=bogus"), PP_EXPO_TEXT);
    assert_int_equal(pp_expo_negotiate(",,;;=,"), PP_EXPO_TEXT);
    assert_string_equal(pp_expo_content_type(PP_EXPO_TEXT),
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(pp_expo_content_type(PP_EXPO_OPENMETRICS),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

static void work(void)
{
    PP_SCOPE("registry_test.work");
    volatile int x = 0;
    for (int i = 0; i < 1000; i++)
        x += i;
}

/* profiling_duration_seconds is fed by PP_SCOPE sites at render time. */
static void test_standard_metrics(void **state)
{
    (void)state;
    for (int i = 0; i < 7; i++)
        work();
    pp_registry *r = pp_metrics_default();
    assert_non_null(r);
    assert_ptr_equal(r, pp_metrics_default());
    char *text = render(r, PP_EXPO_TEXT);
    const char *names[] = {"# TYPE profiling_duration_seconds histogram",
                           "# TYPE memory_usage_bytes gauge",
                           "# TYPE cpu_usage_percent gauge",
                           "# TYPE gpu_usage_percent gauge",
                           "# TYPE cache_hit_ratio gauge",
                           "# TYPE bottleneck_detected_total counter",
                           "# TYPE process_cpu_seconds_total counter",
                           "# TYPE process_resident_memory_bytes gauge",
                           "# TYPE process_virtual_memory_bytes gauge",
                           "# TYPE process_open_fds gauge",
                           "# TYPE process_max_fds gauge",
                           "# TYPE process_start_time_seconds gauge",
                           "profiling_duration_seconds_count{operation=\"registry_test.work\"} 7\n",
                           "profiling_duration_seconds_bucket{operation=\"registry_test.work\","
                           "le=\"+Inf\"} 7\n"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!strstr(text, names[i]))
            fail_msg("missing: %s", names[i]);
    }
    const char *p = strstr(text, "\nprocess_resident_memory_bytes ");
    assert_non_null(p);
    assert_true(strtod(p + 31, NULL) > 1e5);
    p = strstr(text, "\nprocess_start_time_seconds ");
    assert_non_null(p);
    assert_true(strtod(p + 28, NULL) > 1.6e9);
    free(text);
    /* the application can feed the design's other metrics */
    pp_series *s;
    assert_int_equal(pp_metric_series(pp_registry_find(r, "bottleneck_detected_total"),
                                      (const char *const[]){"load", "io"}, &s),
                     PP_OK);
    pp_series_inc(s);
    text = render(r, PP_EXPO_TEXT);
    assert_non_null(strstr(text, "bottleneck_detected_total{operation=\"load\",kind=\"io\"} 1\n"));
    free(text);
    assert_int_equal(pp_metrics_register_standard(r), PP_EEXIST);
    pp_metrics_default_free();
    pp_metrics_default_free();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_names_validated),
    cmocka_unit_test(test_series_handles_and_values),
    cmocka_unit_test(test_concurrent_updates_exact),
    cmocka_unit_test(test_cardinality_bound),
    cmocka_unit_test(test_render_text_golden),
    cmocka_unit_test(test_mirror),
    cmocka_unit_test(test_hooks),
    cmocka_unit_test(test_negotiate),
    cmocka_unit_test(test_standard_metrics),
};

PP_TEST_MAIN(tests)
