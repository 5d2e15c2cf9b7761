/*
 * test_histogram.c - Percentiles of the log-linear histogram against exact
 * percentiles of known distributions, merging, bucket edges.
 */
#include <math.h>
#include <stdlib.h>

#include "pp_test.h"
#include <postprof/postprof.h>

static uint64_t rng_state = 88172645463325252ull;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double nrand(void)
{
    double u1 = urand(), u2 = urand();
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void check_distribution(uint64_t *v, size_t n)
{
    pp_histogram *h = pp_histogram_new();
    assert_non_null(h);
    for (size_t i = 0; i < n; i++)
        pp_histogram_record(h, v[i]);
    qsort(v, n, sizeof *v, cmp_u64);
    assert_int_equal(pp_histogram_count(h), n);
    const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        size_t rank = (size_t)ceil(qs[k] * (double)n);
        double exact = (double)v[rank - 1];
        double got = pp_histogram_value_at(h, qs[k]);
        double err = fabs(got - exact) / exact;
        if (err > 0.01)
            fail_msg("q=%.3f exact=%.0f got=%.0f err=%.4f", qs[k], exact, got, err);
    }
    assert_true(pp_histogram_min(h) == (double)v[0]);
    assert_true(pp_histogram_max(h) == (double)v[n - 1]);
    pp_histogram_free(h);
}

static void uniform_within_1pct(void **state)
{
    (void)state;
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = 1000 + (uint64_t)(urand() * 9000000.0);
    check_distribution(v, n);
    free(v);
}

static void lognormal_within_1pct(void **state)
{
    (void)state;
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = 1 + (uint64_t)exp(11.0 + 1.5 * nrand()); /* median ~60 us, long tail */
    check_distribution(v, n);
    free(v);
}

static void bimodal_within_1pct(void **state)
{
    (void)state;
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        double base = urand() < 0.7 ? 50000.0 : 5000000.0; /* cache hit vs miss */
        v[i] = (uint64_t)(base * (1.0 + 0.1 * nrand() * 0.5) + 1.0);
    }
    check_distribution(v, n);
    free(v);
}

static void small_values_exact(void **state)
{
    (void)state;
    pp_histogram *h = pp_histogram_new();
    for (uint64_t i = 0; i < 64; i++)
        pp_histogram_record(h, i);
    assert_true(pp_histogram_value_at(h, 0.5) == 31.0);
    assert_true(pp_histogram_value_at(h, 1.0) == 63.0);
    assert_int_equal(pp_histogram_count_le(h, 9.0), 10);
    pp_histogram_free(h);
}

static void overflow_counted(void **state)
{
    (void)state;
    pp_histogram *h = pp_histogram_new();
    pp_histogram_record(h, PP_HISTOGRAM_MAX_TRACKED + 12345);
    pp_histogram_record(h, 100);
    assert_int_equal(pp_histogram_count(h), 2);
    assert_true(pp_histogram_max(h) == (double)(PP_HISTOGRAM_MAX_TRACKED + 12345));
    assert_true(pp_histogram_value_at(h, 1.0) == (double)(PP_HISTOGRAM_MAX_TRACKED + 12345));
    assert_int_equal(pp_histogram_count_le(h, 1e18), 1); /* overflow is only in +Inf */
    pp_histogram_free(h);
}

static void merge_adds_counts(void **state)
{
    (void)state;
    pp_histogram *a = pp_histogram_new(), *b = pp_histogram_new();
    for (int i = 0; i < 1000; i++) {
        pp_histogram_record(a, 1000);
        pp_histogram_record(b, 1000000);
    }
    assert_int_equal(pp_histogram_merge(a, b), PP_OK);
    assert_int_equal(pp_histogram_count(a), 2000);
    assert_true(fabs(pp_histogram_value_at(a, 0.25) - 1000.0) / 1000.0 < 0.01);
    assert_true(fabs(pp_histogram_value_at(a, 0.75) - 1e6) / 1e6 < 0.01);
    assert_true(pp_histogram_sum(a) == 1000.0 * 1000 + 1e6 * 1000);
    assert_int_equal(pp_histogram_merge(a, NULL), PP_EINVAL);
    pp_histogram_reset(a);
    assert_int_equal(pp_histogram_count(a), 0);
    assert_true(pp_histogram_value_at(a, 0.5) == 0.0);
    pp_histogram_free(a);
    pp_histogram_free(b);
    pp_histogram_free(NULL);
}

static void count_le_at_boundaries(void **state)
{
    (void)state;
    pp_histogram *h = pp_histogram_new();
    for (int i = 0; i < 100; i++)
        pp_histogram_record(h, 1000000); /* 1 ms */
    for (int i = 0; i < 50; i++)
        pp_histogram_record(h, 100000000); /* 100 ms */
    assert_int_equal(pp_histogram_count_le(h, 500000.0), 0);
    assert_int_equal(pp_histogram_count_le(h, 5000000.0), 100);
    assert_int_equal(pp_histogram_count_le(h, 1e9), 150);
    pp_histogram_free(h);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(uniform_within_1pct),    cmocka_unit_test(lognormal_within_1pct),
    cmocka_unit_test(bimodal_within_1pct),    cmocka_unit_test(small_values_exact),
    cmocka_unit_test(overflow_counted),       cmocka_unit_test(merge_adds_counts),
    cmocka_unit_test(count_le_at_boundaries),
};
PP_TEST_MAIN(tests)
