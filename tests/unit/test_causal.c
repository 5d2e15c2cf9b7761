/*
 * test_causal.c - Progress points are counted per call on every thread; an
 * experiment log becomes gains with intervals (a site that saves time per
 * point ranks first, one that does not is "no change"); bad lines are
 * skipped with where and why; causal.json reads back what was written and
 * its errors say where.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_test.h"
#include <postprof/postprof.h>

static void hit_n(int n)
{
    for (int i = 0; i < n; i++)
        PP_PROGRESS("test_causal.progress");
}

static void *hit_thread(void *arg)
{
    (void)arg;
    hit_n(7);
    return NULL;
}

static void progress_counted_per_call(void **state)
{
    (void)state;
    hit_n(5);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hit_thread, NULL), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pp_snapshot *snap;
    assert_int_equal(pp_snapshot_take(&snap), PP_OK);
    const pp_site_stats *st = pp_snapshot_find(snap, "test_causal.progress");
    assert_non_null(st);
    assert_int_equal(st->count, 12); /* 5 here, 7 on a thread that has exited */
    assert_true(st->flags & PP_SITE_PROGRESS);
    pp_snapshot_free(snap);
}

/* A log of baselines at about 1 ms per point, site "fast" saving 20 % / 40 %
 * of it at 25 % / 50 %, site "idle" saving nothing. */
static char *make_log(void)
{
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "postprof-causal 2\nprogress iteration\n");
    int pair = 0;
    for (int i = 0; i < 12; i++) {
        unsigned jitter = (unsigned)(i * 7919 % 13) * 1000; /* 0-12 us per point */
        unsigned long long base = 1000000 + jitter * 10;
        /* 100 points; the delay inserted is taken out of the wall time;
         * each experiment beside its baseline, in either order */
        len += (size_t)snprintf(
            s + len, cap - len, "exp %d 0 100 %llu 0 fast\nexp %d 250 100 %llu %llu fast\n",
            pair + 1, base * 100, pair + 1, base * 100 * 8 / 10 + 5000000ull, 5000000ull);
        len += (size_t)snprintf(s + len, cap - len,
                                "exp %d 500 100 %llu 0 fast\nexp %d 0 100 %llu 0 fast\n", pair + 2,
                                (base + jitter / 2) * 60, pair + 2, base * 100);
        len += (size_t)snprintf(
            s + len, cap - len, "exp %d 0 100 %llu 0 idle\nexp %d 500 100 %llu 20000000 idle\n",
            pair + 3, base * 100, pair + 3, (base + (i % 2 ? 3000 : -3000)) * 100 + 20000000ull);
        pair += 3;
    }
    return s;
}

static const pp_causal_point *point(const pp_causal_result *r, const char *site, double sp)
{
    for (size_t i = 0; i < r->nsites; i++)
        if (strcmp(r->sites[i].name, site) == 0)
            for (size_t k = 0; k < r->sites[i].npoints; k++)
                if (fabs(r->sites[i].points[k].speedup - sp) < 1e-9)
                    return &r->sites[i].points[k];
    return NULL;
}

static void log_gives_gains_with_intervals(void **state)
{
    (void)state;
    char *text = make_log();
    pp_causal_log *log = pp_causal_log_new();
    size_t skipped = 9;
    char err[256];
    assert_int_equal(pp_causal_log_parse(log, text, strlen(text), &skipped, err, sizeof err),
                     PP_OK);
    assert_int_equal(skipped, 0);
    assert_int_equal(pp_causal_log_count(log), 36);
    pp_causal_result *r = NULL;
    double widest = 0;
    assert_int_equal(pp_causal_analyze(log, &r, &widest), PP_OK);
    assert_string_equal(r->progress, "iteration");
    assert_int_equal(r->baselines, 36);
    assert_int_equal(r->nsites, 2);
    assert_string_equal(r->sites[0].name, "fast"); /* ranked by slope */
    assert_true(r->sites[0].slope > 0.7 && r->sites[0].slope < 0.9);
    const pp_causal_point *p = point(r, "fast", 0.25);
    assert_non_null(p);
    assert_int_equal(p->experiments, 12);
    assert_true(fabs(p->gain - 0.2) < 0.01);
    assert_true(p->gain_low <= p->gain && p->gain <= p->gain_high);
    assert_true(p->gain_low > 0.15 && p->gain_high < 0.25);
    p = point(r, "fast", 0.5);
    assert_true(fabs(p->gain - 0.4) < 0.01);
    p = point(r, "idle", 0.5);
    assert_non_null(p);
    assert_true(fabs(p->gain) < 0.01);
    assert_true(p->gain_low < 0 && p->gain_high > 0); /* no significant change */
    assert_true(isfinite(widest) && widest > 0 && widest < 0.05);
    pp_causal_result_free(r);
    pp_causal_log_free(log);
    free(text);
}

static void bad_lines_skipped_with_where(void **state)
{
    (void)state;
    static const char text[] = "postprof-causal 2\n"
                               "exp 1 0 10 100 0 before_progress\n"
                               "progress iteration\n"
                               "exp 2 0 10 1000 0 a\n"
                               "exp 2 250 ten 1000 0 a\n"
                               "exp 2 250 10 1000 2000 a\n"
                               "exp 2 2500 10 1000 0 a\n"
                               "note no blocking hooks\n"
                               "garbage\n"
                               "exp 2 250 10 900 0 a\n"
                               "exp 3 250 10 900 0 a\n"
                               "exp 4 0 10 900 0 a\n"
                               "exp 5 0 10 900 0 a\n"
                               "exp 5 0 10 900 0 a\n";
    pp_causal_log *log = pp_causal_log_new();
    size_t skipped = 0;
    char err[256];
    assert_int_equal(pp_causal_log_parse(log, text, sizeof text - 1, &skipped, err, sizeof err),
                     PP_OK);
    assert_int_equal(skipped, 5);
    assert_non_null(strstr(err, "line 2"));
    /* pair 2 complete; 3 and 4 are halves of different pairs, 5 two baselines */
    assert_int_equal(pp_causal_log_count(log), 1);
    /* one pair: a gain, but no interval yet */
    pp_causal_result *r = NULL;
    double widest = 0;
    assert_int_equal(pp_causal_analyze(log, &r, &widest), PP_OK);
    assert_true(isinf(widest));
    assert_true(fabs(r->sites[0].points[0].gain - 0.1) < 1e-9);
    assert_true(isinf(r->sites[0].points[0].gain_high));
    pp_causal_result_free(r);
    /* another program's log: refused as a whole */
    assert_int_equal(pp_causal_log_parse(log, "exp 1 0 1 2 0 a\n", 16, &skipped, err, sizeof err),
                     PP_EFORMAT);
    assert_non_null(strstr(err, "line 1"));
    /* a second log of another progress point adds nothing */
    static const char other[] =
        "postprof-causal 2\nprogress request\nexp 1 0 10 1000 0 a\nexp 1 500 10 500 0 a\n";
    assert_int_equal(pp_causal_log_parse(log, other, sizeof other - 1, &skipped, err, sizeof err),
                     PP_OK);
    assert_int_equal(skipped, 3);
    assert_int_equal(pp_causal_log_count(log), 1);
    pp_causal_log_free(log);
    /* baselines only: nothing to analyze */
    log = pp_causal_log_new();
    static const char only[] = "postprof-causal 2\nprogress p\nexp 1 0 10 1000 0 a\n";
    assert_int_equal(pp_causal_log_parse(log, only, sizeof only - 1, NULL, NULL, 0), PP_OK);
    assert_int_equal(pp_causal_analyze(log, &r, NULL), PP_EINVAL);
    assert_null(r);
    pp_causal_log_free(log);
}

static void json_reads_back_what_was_written(void **state)
{
    (void)state;
    char *text = make_log();
    pp_causal_log *log = pp_causal_log_new();
    assert_int_equal(pp_causal_log_parse(log, text, strlen(text), NULL, NULL, 0), PP_OK);
    pp_causal_result *r = NULL;
    assert_int_equal(pp_causal_analyze(log, &r, NULL), PP_OK);
    r->sites[1].points[0].gain_low = -INFINITY; /* an open end is written as null */
    char path[] = "/tmp/test_causal_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[512];
    assert_int_equal(pp_causal_json_write(r, path, err, sizeof err), PP_OK);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(pp_file_read(path, 1 << 20, &buf, &len, err, sizeof err), PP_OK);
    assert_non_null(strstr(buf, "\"gain_low\": null"));
    pp_causal_result *back = NULL;
    assert_int_equal(pp_causal_json_parse(buf, len, &back, err, sizeof err), PP_OK);
    assert_string_equal(back->progress, r->progress);
    assert_int_equal(back->nsites, r->nsites);
    assert_int_equal(back->baselines, r->baselines);
    for (size_t i = 0; i < r->nsites; i++) {
        assert_string_equal(back->sites[i].name, r->sites[i].name);
        assert_int_equal(back->sites[i].npoints, r->sites[i].npoints);
        for (size_t k = 0; k < r->sites[i].npoints; k++) {
            const pp_causal_point *a = &r->sites[i].points[k], *b = &back->sites[i].points[k];
            assert_true(a->speedup == b->speedup && a->gain == b->gain);
            assert_true(a->gain_low == b->gain_low && a->gain_high == b->gain_high);
            assert_int_equal(a->experiments, b->experiments);
        }
    }
    pp_causal_result_free(back);
    free(buf);
    unlink(path);
    pp_causal_result_free(r);
    pp_causal_log_free(log);
    free(text);
}

static void json_errors_say_where(void **state)
{
    (void)state;
    pp_causal_result *r = NULL;
    char err[256];
    static const char bad_point[] =
        "{\"format\":\"postprof-causal\",\"version\":1,\"progress\":\"p\",\"baselines\":1,"
        "\"sites\":[{\"name\":\"a\",\"points\":[{\"speedup\":2,\"gain\":0,\"gain_low\":0,"
        "\"gain_high\":0,\"experiments\":1}]}]}";
    assert_int_equal(pp_causal_json_parse(bad_point, sizeof bad_point - 1, &r, err, sizeof err),
                     PP_EFORMAT);
    assert_non_null(strstr(err, "sites[0].points[0]"));
    assert_null(r);
    static const char other[] = "{\"format\":\"postprof-report\"}";
    assert_int_equal(pp_causal_json_parse(other, sizeof other - 1, &r, err, sizeof err),
                     PP_EFORMAT);
    assert_non_null(strstr(err, "not a causal.json"));
    assert_int_equal(pp_causal_json_parse("{\"format\":", 10, &r, err, sizeof err), PP_EFORMAT);
    assert_non_null(strstr(err, "line 1"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(progress_counted_per_call),
    cmocka_unit_test(log_gives_gains_with_intervals),
    cmocka_unit_test(bad_lines_skipped_with_where),
    cmocka_unit_test(json_reads_back_what_was_written),
    cmocka_unit_test(json_errors_say_where),
};
PP_TEST_MAIN(tests)
