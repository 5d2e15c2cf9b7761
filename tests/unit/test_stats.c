/*
 * test_stats.c - The statistics module: Hodges-Lehmann estimates and their
 * intervals against hand-computed cases and brute-force enumerations of the
 * signed-rank and Mann-Whitney distributions, 95 % coverage over 1000
 * synthetic samples with a known ratio (fixed seeds), degenerate inputs,
 * sequential sampling's stops, and Monte Carlo propagation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#include "analyze/stats.h"
#include "near.h"

#define REL(a, b) (fabs((a) - (b)) <= 1e-12 * fabs(b))

static void assert_rel(double a, double b)
{
    if (!REL(a, b)) {
        print_error("%.17g != %.17g\n", a, b);
        fail();
    }
}

/* ---- hand-computed cases --------------------------------------------------- */

/* d = 1..6: Walsh averages (i + j) / 2 are symmetric around 3.5; with 6 pairs
 * P(T <= 0) = 1/64 <= 0.025 < P(T <= 1) = 2/64, so the 95 % interval is the
 * smallest and largest Walsh average: [1, 6]. */
static void test_paired_six_pairs_by_hand(void **state)
{
    (void)state;
    double a[6], b[6];
    for (int i = 0; i < 6; i++) {
        a[i] = 2.0;
        b[i] = 2.0 * exp(i + 1);
    }
    pp__ratio_est e;
    assert_int_equal(pp__stats_paired(a, b, 6, 0.95, 0.0, &e), PP_OK);
    assert_rel(e.ratio, exp(3.5));
    assert_rel(e.low, exp(1.0));
    assert_rel(e.high, exp(6.0));
    assert_int_equal(e.n, 6);
    assert_true(e.exact);
    assert_rel(e.base, 2.0);
    assert_int_equal(e.verdict, PP_VERDICT_WORSE);
}

/* d = 1..8: counts of T = 0..4 are 1,1,1,2,2, so P(T <= 3) = 5/256 <= 0.025 <
 * 7/256: k = 4, interval [W(4), W(33)] = [2, 7] (sorted Walsh averages 1, 1.5,
 * 2, 2, ...), estimate 4.5. */
static void test_paired_eight_pairs_by_hand(void **state)
{
    (void)state;
    double a[8], b[8];
    for (int i = 0; i < 8; i++) {
        a[i] = 1.0;
        b[i] = exp(-(i + 1)); /* b faster: the ratio is below 1 */
    }
    pp__ratio_est e;
    assert_int_equal(pp__stats_paired(a, b, 8, 0.95, 0.05, &e), PP_OK);
    assert_rel(e.ratio, exp(-4.5));
    assert_rel(e.low, exp(-7.0));
    assert_rel(e.high, exp(-2.0));
    assert_int_equal(e.verdict, PP_VERDICT_BETTER);
}

/* 4 vs 4: P(U <= 0) = 1/70 <= 0.025 < 2/70, so the interval spans every
 * pairwise difference: logs {0,1,2,3} vs {10,11,12,13}: differences 7..13,
 * median 10. */
static void test_unpaired_four_by_four_by_hand(void **state)
{
    (void)state;
    double a[4], b[4];
    for (int i = 0; i < 4; i++) {
        a[i] = exp(i);
        b[i] = exp(10 + i);
    }
    pp__ratio_est e;
    assert_int_equal(pp__stats_unpaired(a, 4, b, 4, 0.95, 0.0, &e), PP_OK);
    assert_rel(e.ratio, exp(10.0));
    assert_rel(e.low, exp(7.0));
    assert_rel(e.high, exp(13.0));
    assert_true(e.exact);
    assert_int_equal(e.n_a, 4);
    assert_int_equal(e.n_b, 4);
}

/* ---- brute force: every sign pattern / every split ------------------------- */

static int cmp_d(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Largest w with P(T <= w) <= alpha/2 by enumerating 2^n sign patterns. */
static long brute_signed_rank_w(int n, double half_alpha)
{
    int total = n * (n + 1) / 2;
    double *cnt = calloc((size_t)total + 1, sizeof *cnt);
    assert_non_null(cnt);
    for (unsigned long mask = 0; mask < (1ul << n); mask++) {
        int t = 0;
        for (int i = 0; i < n; i++)
            if (mask & (1ul << i))
                t += i + 1;
        cnt[t] += 1.0;
    }
    double cum = 0.0, all = ldexp(1.0, n);
    long w = -1;
    for (int t = 0; t <= total; t++) {
        cum += cnt[t];
        if (cum <= half_alpha * all)
            w = t;
        else
            break;
    }
    free(cnt);
    return w;
}

static void test_paired_matches_brute_force(void **state)
{
    (void)state;
    pp__rng r;
    pp__rng_seed(&r, 7);
    for (int n = 1; n <= 14; n++) {
        double a[14], b[14], d[14], walsh[105];
        for (int i = 0; i < n; i++) {
            a[i] = 1.0 + pp__rng_uniform(&r);
            b[i] = a[i] * exp(0.3 * pp__rng_normal(&r));
            d[i] = log(b[i]) - log(a[i]);
        }
        qsort(d, (size_t)n, sizeof *d, cmp_d);
        int m = 0;
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
                walsh[m++] = d[i] + d[j];
        qsort(walsh, (size_t)m, sizeof *walsh, cmp_d);
        double med = (m % 2) ? walsh[m / 2] : 0.5 * (walsh[m / 2 - 1] + walsh[m / 2]);
        pp__ratio_est e;
        assert_int_equal(pp__stats_paired(a, b, (size_t)n, 0.95, 0.0, &e), PP_OK);
        assert_double_equal(log(e.ratio), med / 2, 1e-12);
        long k = brute_signed_rank_w(n, 0.025) + 1;
        if (k < 1) {
            assert_true(e.low == 0.0 && isinf(e.high));
        } else {
            assert_double_equal(log(e.low), walsh[k - 1] / 2, 1e-12);
            assert_double_equal(log(e.high), walsh[m - k] / 2, 1e-12);
        }
    }
}

/* Number of ways to pick `m` of the first `t` ranks with U = u, recursively. */
static void brute_mw_counts(int na, int nb, double *cnt)
{
    int n = na + nb;
    for (unsigned long mask = 0; mask < (1ul << n); mask++) {
        if (__builtin_popcountl(mask) != na)
            continue;
        /* U = #{(a, b) : b ranked below a}: a's at mask bits */
        int u = 0, bs_below = 0;
        for (int i = 0; i < n; i++) {
            if (mask & (1ul << i))
                u += bs_below;
            else
                bs_below++;
        }
        cnt[u] += 1.0;
    }
}

static void test_unpaired_matches_brute_force(void **state)
{
    (void)state;
    pp__rng r;
    pp__rng_seed(&r, 11);
    for (int na = 1; na <= 8; na++) {
        for (int nb = 1; nb <= 8; nb++) {
            double a[8], b[8], x[8], y[8], diff[64], cnt[65] = {0};
            for (int i = 0; i < na; i++) {
                a[i] = exp(pp__rng_normal(&r));
                x[i] = log(a[i]);
            }
            for (int j = 0; j < nb; j++) {
                b[j] = 1.3 * exp(pp__rng_normal(&r));
                y[j] = log(b[j]);
            }
            int m = 0;
            for (int i = 0; i < na; i++)
                for (int j = 0; j < nb; j++)
                    diff[m++] = y[j] - x[i];
            qsort(diff, (size_t)m, sizeof *diff, cmp_d);
            brute_mw_counts(na, nb, cnt);
            double all = 0.0, cum = 0.0;
            for (int u = 0; u <= m; u++)
                all += cnt[u];
            long w = -1;
            for (int u = 0; u <= m; u++) {
                cum += cnt[u];
                if (cum <= 0.025 * all)
                    w = u;
                else
                    break;
            }
            pp__ratio_est e;
            assert_int_equal(pp__stats_unpaired(a, (size_t)na, b, (size_t)nb, 0.95, 0.0, &e),
                             PP_OK);
            double med = (m % 2) ? diff[m / 2] : 0.5 * (diff[m / 2 - 1] + diff[m / 2]);
            assert_double_equal(log(e.ratio), med, 1e-12);
            long k = w + 1;
            if (k < 1) {
                assert_true(e.low == 0.0 && isinf(e.high));
                assert_true((size_t)nb < pp__stats_min_runs((size_t)na, 0.95));
            } else {
                assert_double_equal(log(e.low), diff[k - 1], 1e-12);
                assert_double_equal(log(e.high), diff[m - k], 1e-12);
                assert_true((size_t)nb >= pp__stats_min_runs((size_t)na, 0.95));
            }
        }
    }
}

/* ---- coverage over 1000 synthetic samples with a known ratio -------------- */

typedef enum { NOISE_NORMAL, NOISE_EXP } noise_kind;

/* A time: 1 ms times a multiplicative noise of the given kind. */
static double noisy(pp__rng *r, noise_kind k, double spread)
{
    if (k == NOISE_NORMAL)
        return exp(spread * pp__rng_normal(r));
    /* a skewed, long-tailed noise: a floor plus an exponential delay */
    return 1.0 + spread * -log(pp__rng_uniform(r));
}

static int paired_coverage(size_t n, noise_kind k, double ratio, uint64_t seed)
{
    pp__rng r;
    pp__rng_seed(&r, seed);
    double a[200], b[200];
    int covered = 0;
    for (int t = 0; t < 1000; t++) {
        for (size_t i = 0; i < n; i++) {
            double drift = exp(0.5 * pp__rng_normal(&r)); /* shared by both of a pair */
            a[i] = drift * noisy(&r, k, 0.1);
            b[i] = drift * ratio * noisy(&r, k, 0.1);
        }
        pp__ratio_est e;
        assert_int_equal(pp__stats_paired(a, b, n, 0.95, 0.0, &e), PP_OK);
        covered += e.low <= ratio && ratio <= e.high;
    }
    return covered;
}

static int unpaired_coverage(size_t na, size_t nb, noise_kind k, double ratio, uint64_t seed)
{
    pp__rng r;
    pp__rng_seed(&r, seed);
    double a[200], b[200];
    int covered = 0;
    for (int t = 0; t < 1000; t++) {
        for (size_t i = 0; i < na; i++)
            a[i] = 2.0 * noisy(&r, k, 0.2);
        for (size_t j = 0; j < nb; j++)
            b[j] = 2.0 * ratio * noisy(&r, k, 0.2);
        pp__ratio_est e;
        assert_int_equal(pp__stats_unpaired(a, na, b, nb, 0.95, 0.0, &e), PP_OK);
        covered += e.low <= ratio && ratio <= e.high;
    }
    return covered;
}

static void check_coverage(const char *what, int covered)
{
    if (covered < 930 || covered > 970) {
        print_error("%s: 95 %% interval covered the true ratio %d times of 1000\n", what, covered);
        fail();
    }
}

static void test_paired_coverage_exact(void **state)
{
    (void)state;
    check_coverage("paired n=12 normal", paired_coverage(12, NOISE_NORMAL, 0.8, 101));
    check_coverage("paired n=20 exp", paired_coverage(20, NOISE_EXP, 1.1, 102));
}

static void test_paired_coverage_normal_approx(void **state)
{
    (void)state;
    check_coverage("paired n=80 normal", paired_coverage(80, NOISE_NORMAL, 1.05, 103));
    check_coverage("paired n=150 exp", paired_coverage(150, NOISE_EXP, 0.97, 104));
}

static void test_unpaired_coverage(void **state)
{
    (void)state;
    check_coverage("unpaired 8 vs 8 normal", unpaired_coverage(8, 8, NOISE_NORMAL, 1.2, 201));
    check_coverage("unpaired 10 vs 15 exp", unpaired_coverage(10, 15, NOISE_EXP, 0.9, 202));
    check_coverage("unpaired 40 vs 40 normal", unpaired_coverage(40, 40, NOISE_NORMAL, 1.0, 203));
}

/* ---- degenerate inputs ----------------------------------------------------- */

/*
 * Passes on a machine whose speed s varies from pass to pass (log-normal,
 * 10 %): a pass costs (G + C x r) x s, r the arm's true ratio on the part
 * it changes, and a gauge in the same pass costs G x s (each with 2 % noise
 * of its own). Three arms share each round's pass at the current settings,
 * as in --apply; the third is not used. Over 1000 trials the adjusted 95 %
 * intervals hold the true ratio (G + C r) / (G + C) 93-97 % of the time and
 * are less than half as wide as the unadjusted ones.
 */
static void test_gauged_coverage_and_width(void **state)
{
    (void)state;
    pp__rng r;
    pp__rng_seed(&r, 301);
    enum { N = 12, K = 3 };
    const double G = 0.5, C = 0.5, ratio[K] = {0.8, 0.9, 1.0};
    double a[K][N], b[K][N], ga[K][N], gb[K][N];
    const double *pa[K], *pb[K], *pga[K], *pgb[K];
    size_t n[K] = {N, N, N};
    const int use[K] = {1, 1, 0};
    for (int j = 0; j < K; j++) {
        pa[j] = a[j];
        pb[j] = b[j];
        pga[j] = ga[j];
        pgb[j] = gb[j];
    }
    int covered[K] = {0};
    double width_adj = 0, width_raw = 0, theta_sum = 0;
    for (int t = 0; t < 1000; t++) {
        for (int i = 0; i < N; i++) {
            double s0 =
                exp(0.1 * pp__rng_normal(&r)); /* the round's pass at the current settings */
            double p0 = (G + C) * s0 * exp(0.02 * pp__rng_normal(&r));
            double g0 = G * s0 * exp(0.02 * pp__rng_normal(&r));
            for (int j = 0; j < K; j++) {
                double s1 = exp(0.1 * pp__rng_normal(&r)); /* the arm's pass */
                a[j][i] = p0;
                ga[j][i] = g0;
                b[j][i] = (G + C * ratio[j]) * s1 * exp(0.02 * pp__rng_normal(&r));
                gb[j][i] = G * s1 * exp(0.02 * pp__rng_normal(&r));
            }
        }
        pp__ratio_est out[K], raw;
        memset(out, 0, sizeof out);
        double theta = -1;
        assert_int_equal(pp__stats_gauged(pa, pb, pga, pgb, n, use, K, 0.95, &theta, out), PP_OK);
        assert_true(theta >= 0 && theta <= 1);
        theta_sum += theta;
        assert_true(out[2].n == 0); /* not used: left as it was */
        for (int j = 0; j < 2; j++) {
            double truth = (G + C * ratio[j]) / (G + C);
            covered[j] += out[j].low <= truth && truth <= out[j].high;
            assert_int_equal(pp__stats_paired(a[j], b[j], N, 0.95, 0.0, &raw), PP_OK);
            width_adj += log(out[j].high / out[j].low);
            width_raw += log(raw.high / raw.low);
        }
    }
    print_message("gauged: covered %d and %d of 1000, width %.2f of the unadjusted, theta %.2f\n",
                  covered[0], covered[1], width_adj / width_raw, theta_sum / 1000);
    check_coverage("gauged arm 0", covered[0]);
    check_coverage("gauged arm 1", covered[1]);
    assert_true(width_adj < 0.5 * width_raw);
    /* bad input */
    double theta;
    pp__ratio_est out[K];
    assert_int_equal(pp__stats_gauged(NULL, pb, pga, pgb, n, use, K, 0.95, &theta, out), PP_EINVAL);
    a[0][3] = 0;
    assert_int_equal(pp__stats_gauged(pa, pb, pga, pgb, n, use, K, 0.95, &theta, out), PP_EINVAL);
    /* no arm used: theta 0, nothing touched */
    const int none[K] = {0, 0, 0};
    assert_int_equal(pp__stats_gauged(pa, pb, pga, pgb, n, none, K, 0.95, &theta, out), PP_OK);
    assert_true(theta == 0);
}

/*
 * A machine with two speeds (1 and 1.4: on the shared 2-core machine whole
 * stretches of passes run 40 % slower), switching between passes with
 * probability 0.2: a pair whose two passes ran at different speeds is set
 * aside by its gauge, one whose passes ran at the same speed is kept. Over
 * 1000 trials of 16 pairs every pair across a switch is set aside, at
 * least 99 % of the others kept, whether or not the setting changes the
 * gauge itself (by a constant 0.8x); the kept pairs' 95 % interval holds
 * the true ratio 93-97 % of the time and is less than half as wide as the
 * interval over every pair.
 */
static void test_matched_pairs(void **state)
{
    (void)state;
    unsigned char keep[16];
    /* by hand: median log ratio 0; 1.4 and 0.7 are beyond 0.1 */
    const double ga[7] = {1, 1, 1, 1, 1, 1, 1}, gb[7] = {1, 1.02, 0.98, 1.4, 0.7, 1.01, 1.0};
    assert_int_equal(pp__stats_matched(ga, gb, 7, 0.1, keep), 5);
    const unsigned char want[7] = {1, 1, 1, 0, 0, 1, 1};
    assert_memory_equal(keep, want, 7);
    /* bad input: none kept, keep cleared */
    memset(keep, 1, sizeof keep);
    assert_int_equal(pp__stats_matched(NULL, gb, 7, 0.1, keep), 0);
    assert_int_equal(keep[0], 0);
    assert_int_equal(pp__stats_matched(ga, gb, 0, 0.1, keep), 0);
    assert_int_equal(pp__stats_matched(ga, gb, 7, -1, keep), 0);
    const double gz[7] = {1, 1, 0, 1, 1, 1, 1};
    memset(keep, 1, sizeof keep);
    assert_int_equal(pp__stats_matched(gz, gb, 7, 0.1, keep), 0);
    assert_int_equal(keep[6], 0);
    assert_int_equal(pp__stats_matched(ga, gb, 7, 0.1, NULL), 0);

    pp__rng r;
    pp__rng_seed(&r, 401);
    enum { N = 16 };
    const double G = 0.6, C = 0.4, ratio = 0.7, truth = (G + C * ratio) / (G + C);
    for (int gauge_changed = 0; gauge_changed < 2; gauge_changed++) {
        double gfac = gauge_changed ? 0.8 : 1.0;
        size_t across = 0, across_kept = 0, same = 0, same_kept = 0;
        int covered = 0, tried = 0;
        double width_kept = 0, width_all = 0;
        double speed = 1.0;
        for (int t = 0; t < 1000; t++) {
            double a[N], b[N], gA[N], gB[N], ka[N], kb[N];
            int sw[N];
            for (int i = 0; i < N; i++) {
                double s0 = speed;
                if (pp__rng_uniform(&r) < 0.2)
                    speed = speed > 1.2 ? 1.0 : 1.4;
                double s1 = speed;
                if (pp__rng_uniform(&r) < 0.2)
                    speed = speed > 1.2 ? 1.0 : 1.4;
                sw[i] = s0 != s1;
                a[i] = (G + C) * s0 * exp(0.02 * pp__rng_normal(&r));
                gA[i] = G * s0 * exp(0.02 * pp__rng_normal(&r));
                b[i] = (G * gfac + C * ratio) * s1 * exp(0.02 * pp__rng_normal(&r));
                gB[i] = G * gfac * s1 * exp(0.02 * pp__rng_normal(&r));
            }
            size_t m = pp__stats_matched(gA, gB, N, 0.1, keep), k = 0;
            for (int i = 0; i < N; i++) {
                across += sw[i];
                across_kept += sw[i] && keep[i];
                same += !sw[i];
                same_kept += !sw[i] && keep[i];
                if (keep[i]) {
                    ka[k] = a[i];
                    kb[k++] = b[i];
                }
            }
            assert_int_equal(k, m);
            if (gauge_changed || m < 6)
                continue;
            pp__ratio_est kept, all;
            assert_int_equal(pp__stats_paired(ka, kb, m, 0.95, 0.0, &kept), PP_OK);
            assert_int_equal(pp__stats_paired(a, b, N, 0.95, 0.0, &all), PP_OK);
            tried++;
            covered += kept.low <= truth && truth <= kept.high;
            width_kept += log(kept.high / kept.low);
            width_all += log(all.high / all.low);
        }
        print_message("matched (gauge x%.1f): %zu of %zu pairs across a switch kept, %zu of %zu "
                      "others kept\n",
                      gfac, across_kept, across, same_kept, same);
        assert_true(across > 1000);
        assert_int_equal(across_kept, 0);
        assert_true(same_kept >= 0.99 * (double)same);
        if (!gauge_changed) {
            print_message("matched: covered %d of %d, width %.2f of every pair's\n", covered, tried,
                          width_kept / width_all);
            assert_true(tried >= 950);
            assert_true(covered >= 0.93 * tried && covered <= 0.97 * tried);
            assert_true(width_kept < 0.5 * width_all);
        }
    }
}

static void test_degenerate_inputs(void **state)
{
    (void)state;
    double a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    pp__ratio_est e;
    assert_int_equal(pp__stats_paired(a, b, 0, 0.95, 0.0, &e), PP_EINVAL);
    assert_true(isnan(e.ratio));
    assert_int_equal(pp__stats_unpaired(a, 0, b, 3, 0.95, 0.0, &e), PP_EINVAL);
    assert_int_equal(pp__stats_unpaired(a, 3, b, 0, 0.95, 0.0, &e), PP_EINVAL);
    assert_int_equal(pp__stats_paired(a, b, 8, 1.0, 0.0, &e), PP_EINVAL);
    assert_int_equal(pp__stats_paired(a, b, 8, 0.95, -0.1, &e), PP_EINVAL);
    assert_int_equal(pp__stats_paired(NULL, b, 8, 0.95, 0.0, &e), PP_EINVAL);

    /* one pair: its ratio, and no interval */
    double one_a = 2.0, one_b = 3.0;
    assert_int_equal(pp__stats_paired(&one_a, &one_b, 1, 0.95, 0.0, &e), PP_OK);
    assert_rel(e.ratio, 1.5);
    assert_true(e.low == 0.0 && isinf(e.high));
    assert_int_equal(e.verdict, PP_VERDICT_INCONCLUSIVE);

    /* equal samples: exactly 1, interval [1, 1] */
    assert_int_equal(pp__stats_paired(a, b, 8, 0.95, 0.0, &e), PP_OK);
    assert_true(e.ratio == 1.0 && e.low == 1.0 && e.high == 1.0);
    assert_int_equal(e.verdict, PP_VERDICT_NO_CHANGE);
    double same[5] = {3, 3, 3, 3, 3};
    assert_int_equal(pp__stats_unpaired(same, 5, same, 5, 0.95, 0.0, &e), PP_OK);
    assert_true(e.ratio == 1.0 && e.low == 1.0 && e.high == 1.0);
    assert_int_equal(pp__stats_unpaired(a, 5, b, 5, 0.95, 0.0, &e), PP_OK);
    assert_true(e.ratio == 1.0 && e.low < 1.0 && e.high > 1.0); /* same runs: symmetric */

    /* zero, negative, NaN, infinite samples are refused, on either side */
    double bad[4] = {0.0, -1.0, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        double x[8];
        memcpy(x, a, sizeof x);
        x[5] = bad[i];
        assert_int_equal(pp__stats_paired(x, b, 8, 0.95, 0.0, &e), PP_EINVAL);
        assert_int_equal(pp__stats_paired(a, x, 8, 0.95, 0.0, &e), PP_EINVAL);
        assert_int_equal(pp__stats_unpaired(x, 8, b, 8, 0.95, 0.0, &e), PP_EINVAL);
        assert_int_equal(pp__stats_unpaired(a, 8, x, 8, 0.95, 0.0, &e), PP_EINVAL);
    }
}

/* Five slowdowns out of five pairs cannot be significant at 95 %; six can. */
static void test_fewest_samples_that_decide(void **state)
{
    (void)state;
    assert_int_equal(pp__stats_min_pairs(0.95), 6);
    assert_int_equal(pp__stats_min_pairs(0.99), 8);
    assert_int_equal(pp__stats_min_pairs(0.5), 0);
    assert_int_equal(pp__stats_min_runs(2, 0.95), 8); /* C(10, 2) = 45 >= 40 > C(9, 2) */
    assert_int_equal(pp__stats_min_runs(3, 0.95), 5);
    assert_int_equal(pp__stats_min_runs(4, 0.95), 4);
    assert_int_equal(pp__stats_min_runs(0, 0.95), 0);

    double a[6] = {1, 1, 1, 1, 1, 1}, b[6] = {2, 2.1, 2.2, 2.3, 2.4, 2.5};
    pp__ratio_est e;
    assert_int_equal(pp__stats_paired(a, b, 5, 0.95, 0.0, &e), PP_OK);
    assert_true(isinf(e.high));
    assert_int_equal(e.verdict, PP_VERDICT_INCONCLUSIVE);
    assert_int_equal(pp__stats_paired(a, b, 6, 0.95, 0.0, &e), PP_OK);
    assert_true(e.low > 1.0);
    assert_int_equal(e.verdict, PP_VERDICT_WORSE);

    /* 2 runs against 2 never decide, whatever they measure */
    assert_int_equal(pp__stats_unpaired(a, 2, b, 2, 0.95, 0.0, &e), PP_OK);
    assert_true(isinf(e.high));
    assert_int_equal(pp__stats_needed(&e, 0.05), 0);

    /* runs needed: half-width shrinks as 1/sqrt(n) */
    pp__ratio_est w = {.ratio = 1.0, .low = 0.75, .high = 1.25, .n = 10, .conf = 0.95};
    assert_int_equal(pp__stats_needed(&w, 0.125), 40);
    assert_int_equal(pp__stats_needed(&w, 0.25), 10);
}

static void test_verdicts(void **state)
{
    (void)state;
    assert_int_equal(pp__stats_verdict(0.90, 0.95, 0.02), PP_VERDICT_BETTER);
    assert_int_equal(pp__stats_verdict(1.03, 1.10, 0.02), PP_VERDICT_WORSE);
    assert_int_equal(pp__stats_verdict(0.99, 1.01, 0.02), PP_VERDICT_NO_CHANGE);
    assert_int_equal(pp__stats_verdict(0.95, 1.01, 0.02), PP_VERDICT_INCONCLUSIVE);
    assert_int_equal(pp__stats_verdict(1.01, 1.05, 0.02), PP_VERDICT_INCONCLUSIVE);
    assert_int_equal(pp__stats_verdict(0.0, INFINITY, 0.02), PP_VERDICT_INCONCLUSIVE);
    assert_int_equal(pp__stats_verdict(1.0, 1.0, 0.0), PP_VERDICT_NO_CHANGE);
    assert_int_equal(pp__stats_verdict(0.99, 0.999, 0.0), PP_VERDICT_BETTER);
    assert_string_equal(pp__stats_verdict_name(PP_VERDICT_NO_CHANGE), "no significant change");
    assert_string_equal(pp__stats_verdict_name(PP_VERDICT_WORSE), "worse");
}

/* ---- sequential sampling --------------------------------------------------- */

typedef struct pair_src {
    pp__rng r;
    double ratio, spread;
    int calls, stop_after, fail_at;
} pair_src;

static int next_pair(void *ctx, double *out_a, double *out_b)
{
    pair_src *s = ctx;
    s->calls++;
    if (s->fail_at && s->calls == s->fail_at)
        return PP_EIO;
    if (s->stop_after && s->calls > s->stop_after)
        return PP__STATS_STOP;
    double drift = exp(0.3 * pp__rng_normal(&s->r));
    *out_a = drift * exp(s->spread * pp__rng_normal(&s->r));
    *out_b = drift * s->ratio * exp(s->spread * pp__rng_normal(&s->r));
    return PP_OK;
}

static void test_sequential_stops(void **state)
{
    (void)state;
    double a[400], b[400];
    pp__ratio_est e;
    pp__seq_stop why;
    pp__seq_opts o = {
        .min_pairs = 6, .max_pairs = 400, .target_half_width = 0.01, .conf = 0.95, .tol = 0.0};

    /* quiet pairs: narrow after a few dozen */
    pair_src s = {.ratio = 0.9, .spread = 0.02};
    pp__rng_seed(&s.r, 5);
    assert_int_equal(pp__stats_sequential(next_pair, &s, &o, a, b, &e, &why), PP_OK);
    assert_int_equal(why, PP_SEQ_NARROW);
    assert_true(e.n >= 6 && e.n < 400);
    assert_int_equal(e.n, (size_t)s.calls);
    assert_true((e.high - e.low) / 2 <= 0.01);
    print_message("narrow after %zu pairs: %.4f [%.4f, %.4f]\n", e.n, e.ratio, e.low, e.high);
    assert_double_equal(e.ratio, 0.9, 0.02);
    /* one pair fewer was not yet narrow enough */
    pp__ratio_est before;
    assert_int_equal(pp__stats_paired(a, b, e.n - 1, 0.95, 0.0, &before), PP_OK);
    assert_true(e.n == 6 || (before.high - before.low) / 2 > 0.01);

    /* noisier pairs with more wanted precision: the arrays' end */
    pair_src noisy_src = {.ratio = 1.0, .spread = 0.3};
    pp__rng_seed(&noisy_src.r, 6);
    o.max_pairs = 40;
    assert_int_equal(pp__stats_sequential(next_pair, &noisy_src, &o, a, b, &e, &why), PP_OK);
    assert_int_equal(why, PP_SEQ_MAX_PAIRS);
    assert_int_equal(e.n, 40);

    /* the budget runs out after 7 pairs */
    pair_src budget = {.ratio = 1.0, .spread = 0.3, .stop_after = 7};
    pp__rng_seed(&budget.r, 7);
    assert_int_equal(pp__stats_sequential(next_pair, &budget, &o, a, b, &e, &why), PP_OK);
    assert_int_equal(why, PP_SEQ_BUDGET);
    assert_int_equal(e.n, 7);

    /* before any pair */
    pair_src zero = {.stop_after = 1};
    zero.calls = 1; /* the first call is already past the budget */
    assert_int_equal(pp__stats_sequential(next_pair, &zero, &o, a, b, &e, &why), PP_OK);
    assert_int_equal(why, PP_SEQ_BUDGET);
    assert_int_equal(e.n, 0);
    assert_true(isnan(e.ratio));

    /* the callback's error comes back; the pairs so far are estimated */
    pair_src failing = {.ratio = 1.0, .spread = 0.1, .fail_at = 9};
    pp__rng_seed(&failing.r, 8);
    assert_int_equal(pp__stats_sequential(next_pair, &failing, &o, a, b, &e, &why), PP_EIO);
    assert_int_equal(e.n, 8);

    o.min_pairs = 0;
    assert_int_equal(pp__stats_sequential(next_pair, &s, &o, a, b, &e, &why), PP_EINVAL);
}

/* ---- propagation ----------------------------------------------------------- */

static double sum_fn(void *ctx, const double *x, size_t n)
{
    (void)ctx;
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

/* pairs (share, speedup): sum of share * (1 - 1/speedup) */
static double amdahl_fn(void *ctx, const double *x, size_t n)
{
    (void)ctx;
    double g = 0.0;
    for (size_t i = 0; i + 1 < n; i += 2)
        g += pp__stats_gain(x[i], x[i + 1]);
    return g;
}

static void test_propagate(void **state)
{
    (void)state;
    double z95 = pp__stats_normal_quantile(0.975);
    assert_double_equal(z95, 1.959963984540054, 1e-12);
    assert_double_equal(pp__stats_normal_quantile(0.5), 0.0, 1e-12);

    /* two normals with 95 % half-widths 1.96 and 3.92: sum has sd sqrt(5) */
    pp__interval in[2] = {{.est = 10, .low = 10 - z95, .high = 10 + z95, .conf = 0.95},
                          {.est = 5, .low = 5 - 2 * z95, .high = 5 + 2 * z95, .conf = 0.95}};
    pp__interval out, again;
    assert_int_equal(pp__stats_propagate(in, 2, sum_fn, NULL, 20000, 0.90, 42, &out), PP_OK);
    double hw = pp__stats_normal_quantile(0.95) * sqrt(5.0);
    assert_double_equal(out.est, 15.0, 1e-12);
    assert_double_equal(out.low, 15.0 - hw, 0.03 * hw);
    assert_double_equal(out.high, 15.0 + hw, 0.03 * hw);
    assert_int_equal(pp__stats_propagate(in, 2, sum_fn, NULL, 20000, 0.90, 42, &again), PP_OK);
    assert_true(out.low == again.low && out.high == again.high);

    /* constants propagate to a point */
    pp__interval c[2] = {{.est = 0.4, .low = 0.4, .high = 0.4},
                         {.est = 2.0, .low = 2.0, .high = 2.0, .log_scale = 1}};
    assert_int_equal(pp__stats_propagate(c, 2, amdahl_fn, NULL, 1000, 0.90, 1, &out), PP_OK);
    assert_rel(out.est, 0.2);
    assert_rel(out.low, 0.2);
    assert_rel(out.high, 0.2);

    /* a lopsided speedup interval gives a lopsided gain interval, around the estimate */
    pp__interval l[2] = {{.est = 0.5, .low = 0.5, .high = 0.5},
                         {.est = 1.5, .low = 1.45, .high = 2.5, .conf = 0.95, .log_scale = 1}};
    assert_int_equal(pp__stats_propagate(l, 2, amdahl_fn, NULL, 5000, 0.95, 3, &out), PP_OK);
    assert_rel(out.est, 0.5 * (1 - 1 / 1.5));
    assert_true(out.low < out.est && out.est < out.high);
    assert_true(out.high - out.est > 3 * (out.est - out.low));
    assert_double_equal(out.low, 0.5 * (1 - 1 / 1.45), 0.01);
    assert_double_equal(out.high, 0.5 * (1 - 1 / 2.5), 0.01);

    /* refused: estimate outside its interval, log scale at 0, too few draws */
    pp__interval bad = {.est = 2, .low = 2.5, .high = 3, .conf = 0.95};
    assert_int_equal(pp__stats_propagate(&bad, 1, sum_fn, NULL, 1000, 0.9, 1, &out), PP_EINVAL);
    pp__interval zero = {.est = 1, .low = 0, .high = 3, .conf = 0.95, .log_scale = 1};
    assert_int_equal(pp__stats_propagate(&zero, 1, sum_fn, NULL, 1000, 0.9, 1, &out), PP_EINVAL);
    assert_int_equal(pp__stats_propagate(in, 2, sum_fn, NULL, 10, 0.9, 1, &out), PP_EINVAL);
}

/* ---- the cheapest setting not measurably worse (sweeps) --------------------- */

/* The best batch's interval is wide because one of its 8 batches was
 * preempted (9x); the batch before it costs 3x in every sample. Intervals
 * alone overlap (the rule that picked batch 1 under noise); the direct
 * comparison shows batch 1 is slower, so it is never the pick. */
static void test_cheapest_not_fooled_by_one_slow_sample(void **state)
{
    (void)state;
    double b1[8], b2[8];
    for (int i = 0; i < 8; i++) {
        b1[i] = 3.0 * (1.0 + 0.01 * (i % 3));
        b2[i] = 1.0 * (1.0 + 0.01 * (i % 4));
    }
    b2[5] = 9.0;
    pp__ratio_est e1, e2;
    double ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(pp__stats_paired(ones, b1, 8, 0.95, 0.0, &e1), PP_OK);
    assert_int_equal(pp__stats_paired(ones, b2, 8, 0.95, 0.0, &e2), PP_OK);
    assert_true(e1.low <= e2.high); /* the intervals overlap: overlap alone would pick b1 */
    const double *x[2] = {b1, b2};
    size_t n[2] = {8, 8}, best = 9, pick = 9;
    assert_int_equal(pp__stats_cheapest(x, n, NULL, 2, 0.95, &best, &pick), PP_OK);
    assert_int_equal(best, 1);
    assert_int_equal(pick, 1);
}

/* Synthetic sweeps with known costs per item: batch sizes 1, 2, 4, 8 costing
 * 3, 1.5, 1.0, 1.0 with 10 % log-normal noise and, in one batch of 8 on
 * average, a preemption of 2-5x. A batch at 3x the best's cost is never
 * picked; one at 1.5x in at most 6 % of trials (about 5 % here: those where
 * two of the faster batches' 8 samples were preempted, so 8 samples cannot
 * show it); when two cost the same (4 and 8) the cheaper setting (4) is
 * picked in at least 90 % of trials. */
static void test_cheapest_on_synthetic_sweeps(void **state)
{
    (void)state;
    const double cost[4] = {3.0, 1.5, 1.0, 1.0};
    double s[4][8];
    const double *x[4] = {s[0], s[1], s[2], s[3]};
    size_t n[4] = {8, 8, 8, 8};
    pp__rng r;
    pp__rng_seed(&r, 20261205);
    int picked[4] = {0};
    for (int t = 0; t < 500; t++) {
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 8; i++) {
                double v = cost[k] * exp(0.10 * pp__rng_normal(&r));
                if (pp__rng_uniform(&r) < 0.125)
                    v *= 2.0 + 3.0 * pp__rng_uniform(&r);
                s[k][i] = v;
            }
        size_t best = 9, pick = 9;
        assert_int_equal(pp__stats_cheapest(x, n, NULL, 4, 0.95, &best, &pick), PP_OK);
        assert_true(pick <= best);
        picked[pick]++;
    }
    print_message("picked 1/2/4/8: %d %d %d %d of 500\n", picked[0], picked[1], picked[2],
                  picked[3]);
    assert_int_equal(picked[0], 0);
    assert_true(picked[1] <= 30);
    assert_true(picked[2] >= 450);
}

/* Settings over the latency target are neither best nor picked; none eligible: k. */
static void test_cheapest_eligible_and_bad_input(void **state)
{
    (void)state;
    double a[6] = {1, 1, 1, 1, 1, 1}, b[6] = {2, 2, 2, 2, 2, 2}, bad[6] = {1, 1, 0, 1, 1, 1};
    const double *x[2] = {a, b};
    size_t n[2] = {6, 6}, best, pick;
    int ok[2] = {0, 1};
    assert_int_equal(pp__stats_cheapest(x, n, ok, 2, 0.95, &best, &pick), PP_OK);
    assert_int_equal(best, 1);
    assert_int_equal(pick, 1);
    int none[2] = {0, 0};
    assert_int_equal(pp__stats_cheapest(x, n, none, 2, 0.95, &best, &pick), PP_OK);
    assert_int_equal(best, 2);
    assert_int_equal(pick, 2);
    x[1] = bad;
    assert_int_equal(pp__stats_cheapest(x, n, NULL, 2, 0.95, &best, &pick), PP_EINVAL);
    assert_int_equal(pp__stats_cheapest(x, n, NULL, 0, 0.95, &best, &pick), PP_EINVAL);
    char buf[64];
    assert_string_equal(pp__stats_range_text(buf, sizeof buf, -3.405, 0.72, 100.0, 1, "%"),
                        "-340.5 to 72.0 %");
    assert_string_equal(pp__stats_range_text(buf, sizeof buf, -INFINITY, 0.72, 100.0, 1, "%"),
                        "at most 72.0 %");
    assert_string_equal(pp__stats_range_text(buf, sizeof buf, 1.2, INFINITY, 1.0, 2, "x"),
                        "at least 1.20 x");
}

static void test_median(void **state)
{
    (void)state;
    double x[5] = {5, 1, 4, 2, 3};
    assert_rel(pp__stats_median(x, 5), 3.0);
    assert_rel(pp__stats_median(x, 4), 3.0);
    assert_true(x[0] == 5.0); /* untouched */
    assert_true(isnan(pp__stats_median(x, 0)));
}

/* The chance a right prediction is seen to hold: with no measurement noise
 * its 90 % interval's own 0.90; with a measurement as noisy as the
 * prediction (95 % half-width 1.96 s against 1.645 s) P(|Z| <= 1.645 /
 * sqrt 2) = 0.7552; and against 200 000 draws of a truth from the
 * prediction and a measurement around it, an interval off-centre too. */
static void test_inside_chance(void **state)
{
    (void)state;
    assert_double_equal(pp__stats_inside_chance(0.10, 0.07, 0.13, 0.10, 0.10), 0.90, 1e-6);
    double s = 0.01;
    assert_double_equal(
        pp__stats_inside_chance(0.2, 0.2 - 1.6448536269514722 * s, 0.2 + 1.6448536269514722 * s,
                                0.2 - 1.959963984540054 * s, 0.2 + 1.959963984540054 * s),
        0.7552058563466503, 1e-9);
    assert_true(isnan(pp__stats_inside_chance(0.1, 0.1, 0.1, 0.2, 0.2)));   /* no width at all */
    assert_true(isnan(pp__stats_inside_chance(0.1, 0.13, 0.07, 0.0, 0.2))); /* low above high */
    assert_true(isnan(pp__stats_inside_chance(0.1, 0.07, INFINITY, 0.0, 0.2)));
    /* est 0.12 in [0.09, 0.14] (90 %), measurement 95 % half-width 0.03 */
    double est = 0.12, lo = 0.09, hi = 0.14;
    double sp = (hi - lo) / 2 / 1.6448536269514722, sm = 0.03 / 1.959963984540054;
    double want = pp__stats_inside_chance(est, lo, hi, 0.5 - 0.03, 0.5 + 0.03);
    pp__rng r;
    pp__rng_seed(&r, 11);
    size_t inside = 0, n = 200000;
    for (size_t i = 0; i < n; i++) {
        double truth = est + sp * pp__rng_normal(&r);
        double m = truth + sm * pp__rng_normal(&r);
        inside += m >= lo && m <= hi;
    }
    print_message("inside %.4f of draws, chance %.4f\n", (double)inside / (double)n, want);
    assert_double_equal((double)inside / (double)n, want, 0.005);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_paired_six_pairs_by_hand),
    cmocka_unit_test(test_inside_chance),
    cmocka_unit_test(test_paired_eight_pairs_by_hand),
    cmocka_unit_test(test_unpaired_four_by_four_by_hand),
    cmocka_unit_test(test_paired_matches_brute_force),
    cmocka_unit_test(test_unpaired_matches_brute_force),
    cmocka_unit_test(test_paired_coverage_exact),
    cmocka_unit_test(test_gauged_coverage_and_width),
    cmocka_unit_test(test_matched_pairs),
    cmocka_unit_test(test_paired_coverage_normal_approx),
    cmocka_unit_test(test_unpaired_coverage),
    cmocka_unit_test(test_degenerate_inputs),
    cmocka_unit_test(test_fewest_samples_that_decide),
    cmocka_unit_test(test_verdicts),
    cmocka_unit_test(test_sequential_stops),
    cmocka_unit_test(test_propagate),
    cmocka_unit_test(test_median),
    cmocka_unit_test(test_cheapest_not_fooled_by_one_slow_sample),
    cmocka_unit_test(test_cheapest_on_synthetic_sweeps),
    cmocka_unit_test(test_cheapest_eligible_and_bad_input),
};

PP_TEST_MAIN(tests)
