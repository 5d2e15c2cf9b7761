/*
 * test_compare.c - The CI gate's decision on synthetic runs with a known
 * ratio and known noise (seeded, so every run of the test sees the same
 * numbers): A/A pairs rarely alarm, a 15 % slowdown is caught, one run per
 * side is never a regression, many metrics share one false-alarm chance
 * (simultaneous intervals), percentiles come from per-batch samples,
 * settings that differ make reports incomparable, and pairs of interleaved
 * runs cancel a slow drift that hides a 15 % slowdown from unpaired runs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_test.h"

#include <postprof/postprof.h>

/* splitmix64 + Box-Muller: a fixed noise sequence per seed */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double normal(uint64_t *s)
{
    double u1 = ((double)(mix(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((double)(mix(s) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* n runs of a report whose passes take 100 ms * ratio, with log-normal noise sigma
 * between runs (each run's passes share the run's level, plus 1 % within) */
static void make_runs(pp_report **out, size_t n, double ratio, double sigma, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++) {
        pp_report *r = pp_report_new();
        assert_non_null(r);
        double level = 100e6 * ratio * exp(sigma * normal(seed));
        r->perf.n_passes = 3;
        for (size_t k = 0; k < 3; k++)
            r->perf.pass_ns[k] = level * exp(0.01 * normal(seed));
        out[i] = r;
    }
}

static void free_runs(pp_report **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pp_report_free(r[i]);
}

/* verdict of end_to_end for nb vs nc runs at ratio/sigma */
static pp_compare_verdict trial(size_t nb, size_t nc, double ratio, double sigma, uint64_t *seed,
                                pp_compare_row *row)
{
    pp_report *a[16], *b[16];
    make_runs(a, nb, 1.0, sigma, seed);
    make_runs(b, nc, ratio, sigma, seed);
    pp_compare_result res;
    assert_int_equal(pp_compare_runs((const pp_report *const *)a, nb, (const pp_report *const *)b,
                                     nc, 0.05, 0.95, &res),
                     PP_OK);
    assert_int_equal(res.n, 1);
    assert_string_equal(res.rows[0].metric, "end_to_end");
    assert_int_equal(res.regressions, res.rows[0].verdict == PP_COMPARE_WORSE);
    if (row)
        *row = res.rows[0];
    free_runs(a, nb);
    free_runs(b, nc);
    return res.rows[0].verdict;
}

static void aa_false_alarms_rare(void **state)
{
    (void)state;
    uint64_t seed = 42;
    int worse = 0, unchanged = 0;
    for (int t = 0; t < 200; t++) {
        pp_compare_verdict v = trial(6, 6, 1.0, 0.03, &seed, NULL);
        worse += v == PP_COMPARE_WORSE;
        unchanged += v == PP_COMPARE_NO_CHANGE;
    }
    /* the interval lies wholly above 1.05 only when noise fakes a > 5 % shift */
    assert_true(worse <= 10);
    assert_true(unchanged > 0);
}

static void slowdown_15_percent_caught(void **state)
{
    (void)state;
    uint64_t seed = 7;
    int worse = 0, better = 0, covered = 0;
    for (int t = 0; t < 200; t++) {
        pp_compare_row row;
        pp_compare_verdict v = trial(6, 6, 1.15, 0.03, &seed, &row);
        worse += v == PP_COMPARE_WORSE;
        better += v == PP_COMPARE_BETTER;
        covered += row.low <= 1.15 && 1.15 <= row.high;
        assert_true(row.ratio > 1.0);
        assert_true(fabs(row.cand - row.base * row.ratio) <= 1e-12 * row.cand);
    }
    assert_true(worse >= 180);
    assert_int_equal(better, 0);
    assert_true(covered >= 180); /* a 95 % interval covers the true ratio */
    /* and a speed-up is better */
    assert_int_equal(trial(6, 6, 0.8, 0.03, &seed, NULL), PP_COMPARE_BETTER);
}

static void one_run_per_side_is_inconclusive(void **state)
{
    (void)state;
    uint64_t seed = 3;
    for (int t = 0; t < 20; t++) {
        pp_compare_row row;
        /* even twice as slow: one run per side cannot tell that from noise between runs */
        assert_int_equal(trial(1, 1, 2.0, 0.03, &seed, &row), PP_COMPARE_INCONCLUSIVE);
        assert_true(isinf(row.high));
        assert_int_equal(row.runs_needed, 4); /* at 95 %: 4 vs 4 is the fewest that can decide */
    }
    /* 3 vs 3 cannot exclude 1 either; a noisy 6 vs 6 says how many runs would decide */
    assert_int_equal(trial(3, 3, 2.0, 0.03, &seed, NULL), PP_COMPARE_INCONCLUSIVE);
    pp_compare_row row;
    pp_compare_verdict v = trial(6, 6, 1.10, 0.25, &seed, &row);
    if (v == PP_COMPARE_INCONCLUSIVE)
        assert_true(row.runs_needed > 6);
}

static void percentiles_from_batch_samples(void **state)
{
    (void)state;
    pp_report *a[4], *b[4];
    for (int i = 0; i < 4; i++) {
        a[i] = pp_report_new();
        b[i] = pp_report_new();
        pp_report *rs[2] = {a[i], b[i]};
        for (int k = 0; k < 2; k++) {
            pp_report *r = rs[k];
            r->loading.n_sources = 2;
            strcpy(r->loading.sources[0].name, "api");
            strcpy(r->loading.sources[1].name, "file");
            /* file: no samples (an old report): no row, its single p95 is never used */
            r->loading.sources[1].p95_ns = 5e6 * (k + 1);
            pp_load_profile *l = &r->loading.sources[0];
            l->p95_ns = 1e9; /* the stored maximum-like figure is ignored */
            l->n_batch_ns = 5;
            for (int j = 0; j < 5; j++)
                l->batch_ns[j] = (double)(j + 1) * 1e6 * (k ? 1.3 : 1.0) * (1.0 + 0.001 * i);
        }
    }
    pp_compare_result res;
    assert_int_equal(pp_compare_runs((const pp_report *const *)a, 4, (const pp_report *const *)b, 4,
                                     0.05, 0.95, &res),
                     PP_OK);
    assert_int_equal(res.n, 1);
    assert_string_equal(res.rows[0].metric, "load.api.p95");
    assert_string_equal(res.rows[0].unit, "s");
    /* p95 of 1..5 ms, interpolated: 4.8 ms (not the maximum, 5 ms) */
    assert_true(fabs(res.rows[0].base - 4.8e-3 * 1.0015) < 1e-5);
    assert_true(fabs(res.rows[0].ratio - 1.3) < 1e-3);
    assert_int_equal(res.rows[0].verdict, PP_COMPARE_WORSE);
    assert_int_equal(res.regressions, 1);
    free_runs(a, 4);
    free_runs(b, 4);
}

/* n runs measuring `metrics` sources (each its own noise between runs, sigma) */
static void make_many(pp_report **out, size_t n, size_t metrics, double ratio, double sigma,
                      uint64_t *seed)
{
    for (size_t i = 0; i < n; i++) {
        pp_report *r = pp_report_new();
        assert_non_null(r);
        r->loading.n_sources = metrics;
        for (size_t s = 0; s < metrics; s++) {
            pp_load_profile *l = &r->loading.sources[s];
            snprintf(l->name, sizeof l->name, "s%zu", s);
            double level = 1e6 * (s == 0 ? ratio : 1.0) * exp(sigma * normal(seed));
            l->n_batch_ns = 5;
            for (size_t j = 0; j < 5; j++)
                l->batch_ns[j] = level * (double)(j + 1);
        }
        out[i] = r;
    }
}

static void metrics_share_the_false_alarm_chance(void **state)
{
    (void)state;
    uint64_t seed = 99;
    int any_worse = 0, caught = 0;
    for (int t = 0; t < 200; t++) {
        pp_report *a[8], *b[8];
        pp_compare_result res;
        /* A/A, no tolerance: eight metrics at 95 % each would alarm in ~18 % of trials */
        make_many(a, 8, 8, 1.0, 0.05, &seed);
        make_many(b, 8, 8, 1.0, 0.05, &seed);
        assert_int_equal(pp_compare_runs((const pp_report *const *)a, 8,
                                         (const pp_report *const *)b, 8, 0.0, 0.95, &res),
                         PP_OK);
        assert_int_equal(res.n, 8);
        assert_true(fabs(res.row_conf - (1.0 - 0.05 / 8)) < 1e-12);
        assert_true(fabs(res.conf - 0.95) < 1e-12);
        any_worse += res.regressions > 0;
        free_runs(a, 8);
        free_runs(b, 8);
        /* a 30 % slowdown of one of them is still caught */
        make_many(a, 8, 8, 1.0, 0.05, &seed);
        make_many(b, 8, 8, 1.3, 0.05, &seed);
        assert_int_equal(pp_compare_runs((const pp_report *const *)a, 8,
                                         (const pp_report *const *)b, 8, 0.05, 0.95, &res),
                         PP_OK);
        caught += res.rows[0].verdict == PP_COMPARE_WORSE;
        free_runs(a, 8);
        free_runs(b, 8);
    }
    assert_true(any_worse <= 10);
    assert_true(caught >= 180);
}

static void bad_arguments(void **state)
{
    (void)state;
    pp_report *a = pp_report_new();
    const pp_report *const list[1] = {a};
    pp_compare_result res;
    assert_int_equal(pp_compare_runs(list, 0, list, 1, 0.05, 0.95, &res), PP_EINVAL);
    assert_int_equal(pp_compare_runs(list, 1, list, 1, -0.1, 0.95, &res), PP_EINVAL);
    assert_int_equal(pp_compare_runs(list, 1, list, 1, 0.05, 1.0, &res), PP_EINVAL);
    /* nothing measured: no rows, no regression */
    assert_int_equal(pp_compare_runs(list, 1, list, 1, 0.05, 0.95, &res), PP_OK);
    assert_int_equal(res.n, 0);
    assert_int_equal(res.regressions, 0);
    assert_string_equal(pp_compare_verdict_name(PP_COMPARE_NO_CHANGE), "no significant change");
    pp_report_free(a);
}

static void settings_make_reports_incomparable(void **state)
{
    (void)state;
    pp_report *a = pp_report_new(), *b = pp_report_new();
    const char *common[][2] = {{"knob.batch_size", "8"},
                               {"knob.model", "medium_model"},
                               {"data.bytes", "1000"},
                               {"machine.cpu", "AMD EPYC"}};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pp_report_setting_set(a, common[i][0], common[i][1]), PP_OK);
        assert_int_equal(pp_report_setting_set(b, common[i][0], common[i][1]), PP_OK);
    }
    pp_compare_mismatch mm[4];
    assert_int_equal(pp_compare_settings(a, b, NULL, 0, mm, 4), 0);
    assert_int_equal(pp_report_setting_set(b, "knob.batch_size", "16"), PP_OK);
    assert_int_equal(pp_report_setting_set(b, "data.bytes", "50"), PP_OK);
    assert_int_equal(pp_report_setting_set(b, "run.batch_size", "16"), PP_OK); /* only in b */
    assert_int_equal(pp_compare_settings(a, b, NULL, 0, mm, 4), 3);
    assert_string_equal(mm[0].setting, "knob.batch_size");
    assert_string_equal(mm[0].base, "8");
    assert_string_equal(mm[0].cand, "16");
    assert_string_equal(mm[1].setting, "data.bytes");
    assert_string_equal(pp_compare_setting_group(mm[1].setting), "data size");
    assert_string_equal(mm[2].setting, "run.batch_size");
    assert_string_equal(mm[2].base, "");
    /* the knob changed on purpose, named either way */
    const char *expect[] = {"batch-size"};
    assert_int_equal(pp_compare_settings(a, b, expect, 1, mm, 4), 1);
    assert_string_equal(mm[0].setting, "data.bytes");
    const char *expect2[] = {"knob.batch_size", "run.batch_size", "data.bytes"};
    assert_int_equal(pp_compare_settings(a, b, expect2, 3, mm, 4), 0);
    /* more differences than room: the count is still right */
    assert_int_equal(pp_compare_settings(a, b, NULL, 0, mm, 1), 3);
    assert_string_equal(pp_compare_setting_group("knob.model"), "model");
    assert_string_equal(pp_compare_setting_group("workload.sources"), "sources");
    assert_string_equal(pp_compare_setting_group("machine.cpus"), "machine");
    assert_string_equal(pp_compare_setting_group("profile.passes"), "settings");
    pp_report_free(a);
    pp_report_free(b);
}

/* n pairs: pair i's two runs share a level that drifts slowly and widely
 * (a random walk of sd `drift` per step around the start: the runner's load
 * changing during the job), each run has its own small noise (sigma), and
 * the candidate costs `ratio` times the baseline */
static void make_drifting_pairs(pp_report **a, pp_report **b, size_t n, double ratio, double drift,
                                double sigma, uint64_t *seed)
{
    double level = 0;
    for (size_t i = 0; i < n; i++) {
        level += drift * normal(seed);
        for (int side = 0; side < 2; side++) {
            pp_report *r = pp_report_new();
            assert_non_null(r);
            double v = 100e6 * (side ? ratio : 1.0) * exp(level + sigma * normal(seed));
            r->perf.n_passes = 1;
            r->perf.pass_ns[0] = v;
            (side ? b : a)[i] = r;
        }
    }
}

/* verdicts (paired, unpaired) of end_to_end over the same drifting pairs */
static void drift_trial(size_t n, double ratio, uint64_t *seed, pp_compare_row *paired,
                        pp_compare_row *unpaired)
{
    pp_report *a[32], *b[32];
    make_drifting_pairs(a, b, n, ratio, 0.15, 0.03, seed);
    pp_compare_result res;
    const pp_report *const *ca = (const pp_report *const *)a, *const *cb =
                                                                  (const pp_report *const *)b;
    assert_int_equal(pp_compare_pairs(ca, cb, n, 0.05, 0.95, &res), PP_OK);
    assert_int_equal(res.n, 1);
    assert_int_equal(res.paired, 1);
    assert_int_equal(res.regressions, res.rows[0].verdict == PP_COMPARE_WORSE);
    *paired = res.rows[0];
    assert_int_equal(pp_compare_runs(ca, n, cb, n, 0.05, 0.95, &res), PP_OK);
    assert_int_equal(res.paired, 0);
    *unpaired = res.rows[0];
    free_runs(a, n);
    free_runs(b, n);
}

static void pairs_cancel_slow_drift(void **state)
{
    (void)state;
    uint64_t seed = 1205;
    int caught = 0, caught_unpaired = 0, covered = 0, false_alarms = 0, aa_unpaired = 0;
    double spread_p = 0, spread_u = 0;
    for (int t = 0; t < 200; t++) {
        pp_compare_row p, u;
        /* 14 pairs, the level wanders by ~15 % per pair (often +-50 % over the job) */
        drift_trial(14, 1.15, &seed, &p, &u);
        caught += p.verdict == PP_COMPARE_WORSE;
        caught_unpaired += u.verdict == PP_COMPARE_WORSE;
        covered += p.low <= 1.15 && 1.15 <= p.high;
        assert_int_equal(p.n_base, 14);
        assert_int_equal(p.n_cand, 14);
        assert_true(fabs(p.cand - p.base * p.ratio) <= 1e-12 * p.cand);
        spread_p += p.spread / 200;
        spread_u += u.spread / 200;
        drift_trial(14, 1.0, &seed, &p, &u);
        false_alarms += p.verdict == PP_COMPARE_WORSE;
        aa_unpaired += u.verdict == PP_COMPARE_WORSE;
    }
    /* the pairs' ratios see only the runs' own noise (3 % each, 4.2 % per
     * pair), the runs' values the drift too: paired catches the 15 %, unpaired
     * cannot tell it from the drift */
    assert_true(caught >= 180);
    assert_true(caught_unpaired <= 100); /* misses at least half */
    assert_true(covered >= 180);         /* the 95 % interval covers the true ratio */
    assert_true(false_alarms <= 10);
    assert_true(aa_unpaired <= 10);
    assert_true(spread_p > 0.03 && spread_p < 0.06);
    assert_true(spread_u > 2 * spread_p);
}

static void pairs_need_both_runs(void **state)
{
    (void)state;
    uint64_t seed = 99;
    pp_report *a[12], *b[12];
    make_drifting_pairs(a, b, 12, 1.3, 0.05, 0.02, &seed);
    pp_compare_result res;
    const pp_report *const *ca = (const pp_report *const *)a, *const *cb =
                                                                  (const pp_report *const *)b;
    /* a baseline run without passes leaves its pair out of end_to_end */
    b[4]->perf.n_passes = 0;
    assert_int_equal(pp_compare_pairs(ca, cb, 12, 0.05, 0.95, &res), PP_OK);
    assert_int_equal(res.n, 1);
    assert_int_equal(res.rows[0].n_base, 11);
    assert_int_equal(res.rows[0].n_cand, 11);
    assert_int_equal(res.rows[0].verdict, PP_COMPARE_WORSE);
    assert_int_equal(res.min_runs, 6); /* at 95 %: 5 pairs can never exclude 1 */
    /* one pair, even 30 % slower: no interval, inconclusive, says how many pairs */
    assert_int_equal(pp_compare_pairs(ca, cb, 1, 0.05, 0.95, &res), PP_OK);
    assert_int_equal(res.rows[0].verdict, PP_COMPARE_INCONCLUSIVE);
    assert_true(isinf(res.rows[0].high));
    assert_int_equal(res.rows[0].runs_needed, 6);
    assert_int_equal(res.regressions, 0);
    /* 5 pairs all slower still cannot decide at 95 % */
    assert_int_equal(pp_compare_pairs(ca, cb, 5, 0.05, 0.95, &res), PP_OK);
    assert_int_equal(res.rows[0].verdict, PP_COMPARE_INCONCLUSIVE);
    /* bad arguments */
    assert_int_equal(pp_compare_pairs(ca, cb, 0, 0.05, 0.95, &res), PP_EINVAL);
    assert_int_equal(pp_compare_pairs(ca, cb, 12, -1, 0.95, &res), PP_EINVAL);
    assert_int_equal(pp_compare_pairs(ca, cb, 12, 0.05, 0.5, &res), PP_EINVAL);
    assert_int_equal(pp_compare_pairs(ca, cb, PP_COMPARE_MAX_RUNS + 1, 0.05, 0.95, &res),
                     PP_EINVAL);
    const pp_report *holes[2] = {a[0], NULL};
    assert_int_equal(pp_compare_pairs(holes, cb, 2, 0.05, 0.95, &res), PP_EINVAL);
    free_runs(a, 12);
    free_runs(b, 12);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(pairs_cancel_slow_drift),
    cmocka_unit_test(pairs_need_both_runs),
    cmocka_unit_test(aa_false_alarms_rare),
    cmocka_unit_test(slowdown_15_percent_caught),
    cmocka_unit_test(one_run_per_side_is_inconclusive),
    cmocka_unit_test(percentiles_from_batch_samples),
    cmocka_unit_test(metrics_share_the_false_alarm_chance),
    cmocka_unit_test(bad_arguments),
    cmocka_unit_test(settings_make_reports_incomparable),
};

PP_TEST_MAIN(tests)
