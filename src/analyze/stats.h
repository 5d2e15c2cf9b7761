/*
 * stats.h - The statistics every comparison postprof prints rests on: ratio
 * estimates with confidence intervals for paired (interleaved A/B) and
 * unpaired (N runs per side) samples, sequential sampling, and propagation
 * of intervals into predictions. Internal to the library.
 * Pure: no I/O, no clocks, no global state; deterministic for a given input
 * (Monte Carlo draws use a caller-given seed). Method: docs/profilers.md.
 */
#ifndef PP_ANALYZE_STATS_H
#define PP_ANALYZE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <postprof/export.h>

/* What an interval says about a ratio b/a of costs (times), given a tolerance. */
typedef enum pp__verdict {
    PP_VERDICT_INCONCLUSIVE = 0, /* the interval reaches past the tolerance without excluding 1 */
    PP_VERDICT_BETTER,           /* whole interval below 1/(1 + tol): b costs less */
    PP_VERDICT_WORSE,            /* whole interval above 1 + tol: b costs more */
    PP_VERDICT_NO_CHANGE,        /* whole interval inside [1/(1 + tol), 1 + tol] */
} pp__verdict;

/*
 * A ratio b/a estimated from samples. ratio is the Hodges-Lehmann estimate
 * (exp of the median of Walsh averages / pairwise differences of logs);
 * [low, high] its confidence interval at level conf (low = 0 and high =
 * INFINITY when n is too small for any interval at that level). base is the
 * median of the a side; a time printed beside the ratio for the b side is
 * base * ratio, so the two times and the ratio never disagree.
 */
typedef struct pp__ratio_est {
    double ratio, low, high;
    double base;     /* median of the a samples (the pairs' a side when paired) */
    size_t n;        /* pairs (paired), or the smaller side's runs (unpaired) */
    size_t n_a, n_b; /* samples on each side (both n when paired) */
    double conf;     /* e.g. 0.95 */
    int exact; /* 1: the interval comes from the exact distribution, 0: normal approximation */
    pp__verdict verdict;
} pp__ratio_est;

/*
 * pp__stats_paired() - Ratio b_i/a_i of n interleaved pairs with its
 * confidence interval at level conf (0.5 < conf < 1): Hodges-Lehmann on
 * d_i = log(b_i / a_i), interval from the Wilcoxon signed-rank distribution
 * (exact for n <= 50, normal approximation with continuity correction above).
 * verdict relative to tol (>= 0). Returns PP_OK; PP_EINVAL when n == 0, conf
 * or tol is out of range, or any sample is <= 0, NaN or infinite (*out is then
 * zeroed); PP_ENOMEM. Thread-safe (no shared state).
 */
PP_NODISCARD int pp__stats_paired(const double *a, const double *b, size_t n, double conf,
                                  double tol, pp__ratio_est *out);

/*
 * pp__stats_gauged() - Paired ratios adjusted for a gauge measured in the
 * same passes (the machine's speed, by work the settings do not change).
 * Arm j has n[j] pairs a[j][i] (current settings), b[j][i] (the arm's) and
 * the gauge's time in each of those passes, ga[j][i] and gb[j][i]. theta
 * is the least-squares slope of log(b/a) on log(gb/ga) over the pairs of
 * every arm with use[j] != 0, each arm's means taken out, clamped to
 * [0, 1] (0 when no arm is used or the gauge never changes). For each used
 * arm, out[j] is pp__stats_paired() of a against b * (ga/gb)^theta; the
 * other arms' out[j] are left as they are. *out_theta gets theta.
 * Returns PP_OK; PP_EINVAL for NULL arrays, k == 0, a sample <= 0 or not
 * finite in a used arm, bad conf; PP_ENOMEM.
 */
PP_NODISCARD int pp__stats_gauged(const double *const *a, const double *const *b,
                                  const double *const *ga, const double *const *gb, const size_t *n,
                                  const int *use, size_t k, double conf, double *out_theta,
                                  pp__ratio_est *out);

/* How far (in log) a pair's gauge ratio may lie from the median before the
 * pair is set aside: the machine changed speed between its two passes. */
#define PP__MATCH_TOL 0.1

/*
 * pp__stats_log_dev() - Each pair's log ratio log(b[i]/a[i]) less the
 * median of them over the n pairs, into dev (n). Returns PP_OK; PP_EINVAL
 * for NULL arrays, n == 0 or a time <= 0, NaN or infinite. Pure.
 */
PP_NODISCARD int pp__stats_log_dev(const double *a, const double *b, size_t n, double *dev);

/*
 * pp__stats_matched() - Which of n pairs kept the machine's speed: keep[i]
 * = 1 where the pair's gauge ratio gb[i]/ga[i] lies within a factor
 * exp(tol) of the median gauge ratio over the pairs (log distance <= tol),
 * else 0. The gauge times work the pair's settings leave as they are, so
 * its ratio moves with the machine's speed between the pair's two passes
 * (around the median, not 1: a setting that changes the gauge by a
 * constant factor moves every pair alike). Returns how many are kept; 0
 * with keep all zero for NULL arrays, n == 0, tol < 0 or a gauge time
 * <= 0, NaN or infinite. Pure.
 */
size_t pp__stats_matched(const double *ga, const double *gb, size_t n, double tol,
                         unsigned char *keep);

/*
 * pp__stats_unpaired() - Ratio of two groups' typical values (b over a):
 * Hodges-Lehmann shift of the logs (median of all log b_j - log a_i) with the
 * interval from the Mann-Whitney distribution (exact while C(na+nb, na) <
 * 2^50, normal approximation above). Returns like pp__stats_paired(); PP_EINVAL
 * also when either side is empty.
 */
PP_NODISCARD int pp__stats_unpaired(const double *a, size_t na, const double *b, size_t nb,
                                    double conf, double tol, pp__ratio_est *out);

/* pp__stats_verdict() - The verdict for an interval [low, high] of a ratio, given tol >= 0. */
pp__verdict pp__stats_verdict(double low, double high, double tol);

/* pp__stats_verdict_name() - "better", "worse", "no significant change", "inconclusive". */
const char *pp__stats_verdict_name(pp__verdict v);

/*
 * pp__stats_min_pairs() - The fewest pairs for which a paired interval at
 * level conf can exclude 1 at all (6 at 95 %: with 5 pairs even five
 * slowdowns out of five are not significant). 0 when conf is out of range.
 */
size_t pp__stats_min_pairs(double conf);

/*
 * pp__stats_min_runs() - The fewest runs on the b side, given na runs on
 * the a side, for which an unpaired interval at level conf can exclude 1 at
 * all (2 vs 2 never can; 4 vs 4 can at 95 %). 0 when no number up to 10 000
 * can (na == 0) or conf is out of range.
 */
size_t pp__stats_min_runs(size_t na, double conf);

/*
 * pp__stats_needed() - About how many pairs (or runs per side) an estimate
 * needs for its interval's half-width, (high - low) / 2, to come down to
 * target (> 0): n * (half-width / target)^2, at least the minimum that can
 * decide at all. Returns e->n when it is already narrow enough, 0 for an
 * estimate without a finite interval and too few samples to tell (the caller
 * then needs at least the minimum).
 */
size_t pp__stats_needed(const pp__ratio_est *e, double target);

/*
 * Sequential sampling: the caller's callback produces one more interleaved
 * pair (a, b), or says the budget is spent. The driver stops when the paired
 * interval's half-width (high - low) / 2 is <= target_half_width (after at
 * least min_pairs), when max_pairs are taken,
 * or when the callback says stop.
 */
#define PP__STATS_STOP 1 /* a pair callback's "budget spent, no pair" */

typedef int (*pp__pair_fn)(void *ctx, double *out_a, double *out_b);

typedef enum pp__seq_stop {
    PP_SEQ_NARROW = 0, /* the interval got narrow enough */
    PP_SEQ_MAX_PAIRS,  /* max_pairs taken */
    PP_SEQ_BUDGET,     /* the callback said stop */
} pp__seq_stop;

typedef struct pp__seq_opts {
    size_t min_pairs;         /* >= 1; pairs taken before any check */
    size_t max_pairs;         /* >= min_pairs; also the capacity of the caller's arrays */
    double target_half_width; /* on the ratio scale, e.g. 0.02 */
    double conf;              /* e.g. 0.95 */
    double tol;               /* for the verdict */
} pp__seq_opts;

/*
 * pp__stats_sequential() - Run fn until one of the stops above; the pairs go
 * into a[] and b[] (max_pairs each, owned by the caller) and *out holds the
 * estimate over all of them (out->n pairs), *out_stop why it stopped.
 * Returns PP_OK; PP_EINVAL for bad options or a non-positive sample from fn;
 * fn's own negative status as it came (the pairs so far stay in a[], b[] and
 * *out covers them when there is at least one); PP_ENOMEM.
 */
PP_NODISCARD int pp__stats_sequential(pp__pair_fn fn, void *ctx, const pp__seq_opts *o, double *a,
                                      double *b, pp__ratio_est *out, pp__seq_stop *out_stop);

/*
 * An estimate with its interval, as input to (and output of) propagation.
 * log_scale: 1 for positive multiplicative quantities (speedups, ratios),
 * drawn log-normally; 0 for additive ones (shares, gains), drawn normally.
 * Each side of the interval sets its own spread (a split normal), so a
 * lopsided interval stays lopsided. low == high == est: a constant.
 */
typedef struct pp__interval {
    double est, low, high;
    double conf; /* the level [low, high] was computed at */
    int log_scale;
} pp__interval;

/* The value a propagated quantity takes for one set of draws of its inputs. */
typedef double (*pp__propagate_fn)(void *ctx, const double *inputs, size_t n);

/*
 * pp__stats_propagate() - Interval of f(inputs) at level conf by Monte Carlo:
 * `draws` (>= 100) independent draws of every input from its interval, f at
 * each, the central conf quantiles; out->est = f at the inputs' estimates.
 * Draws come from a generator started at seed, so the same call gives the
 * same interval. Returns PP_OK; PP_EINVAL for n == 0 or n > 1024, bad conf, an
 * interval not around its estimate (low <= est <= high) or non-positive on a
 * log scale, or f giving a NaN; PP_ENOMEM.
 */
PP_NODISCARD int pp__stats_propagate(const pp__interval *in, size_t n, pp__propagate_fn f,
                                     void *ctx, size_t draws, double conf, uint64_t seed,
                                     pp__interval *out);

/*
 * pp__stats_gain() - The gain in time 1 - 1/speedup (e.g. 1.25x -> 0.20),
 * and of an Amdahl term: share * (1 - 1/speedup). Plain arithmetic.
 */
double pp__stats_gain(double share, double speedup);

/*
 * pp__stats_inside_chance() - The chance that a measurement lands inside
 * the interval [low, high] (90 %) of a prediction est, when the truth is
 * as uncertain as that interval says and the measurement as noisy as its
 * own 95 % interval [m_low, m_high] says (each a normal of its
 * half-width): how often a right prediction is seen to hold, given the two
 * noises. NAN when a bound is not finite or both widths are 0.
 */
double pp__stats_inside_chance(double est, double low, double high, double m_low, double m_high);

/*
 * pp__stats_cheapest() - The cheapest setting that is not measurably worse
 * than the best, from cost samples (e.g. time per item, lower is better) of
 * k settings ordered cheapest first (batch 1, 2, 4 ...). Only settings with
 * eligible[i] != 0 (NULL: all) count. Each setting's typical cost is the
 * Hodges-Lehmann estimate of its samples with its interval at conf; the best
 * is the lowest typical cost. The pick is the first setting whose interval
 * overlaps the best's AND that is not measurably costlier than any other
 * eligible setting (unpaired Hodges-Lehmann ratio, Mann-Whitney interval at
 * conf, whose low end is above 1): two wide intervals that overlap because
 * of a preempted sample do not hide a setting that is slower in every
 * sample, and the best's own bad samples do not either when another setting
 * as fast shows it. *out_best and *out_pick get indices; both are k when no
 * setting is eligible. Returns PP_OK; PP_EINVAL for k == 0, NULL arrays, a
 * setting with no samples or a sample <= 0 / not finite; PP_ENOMEM.
 */
PP_NODISCARD int pp__stats_cheapest(const double *const *x, const size_t *n, const int *eligible,
                                    size_t k, double conf, size_t *out_best, size_t *out_pick);

/*
 * pp__stats_range_text() - An interval as text the way every printed range
 * reads: "-340.5 to 72.0 %" (never "-340.5-72.0%", which reads as one
 * subtraction). scale multiplies both ends (100 for a fraction printed as
 * percent), digits are the decimals, unit follows after a space ("%", "x",
 * "items/s"; "" none). An end that is not finite: "at most 72.0 %" / "at
 * least -3.0 %" / "unbounded". Returns buf.
 */
const char *pp__stats_range_text(char *buf, size_t cap, double low, double high, double scale,
                                 int digits, const char *unit);

/* pp__stats_normal_quantile() - z with P(Z <= z) = p for the standard normal; 0 < p < 1. */
double pp__stats_normal_quantile(double p);

/*
 * pp__stats_median() - Median of n values (mean of the middle two for even
 * n), NaN for n == 0. Works on a copy (PP_ENOMEM returns NaN) and leaves x as it is.
 */
double pp__stats_median(const double *x, size_t n);

/* A small deterministic generator (splitmix64) for draws and tests. */
typedef struct pp__rng {
    uint64_t s;
} pp__rng;

void pp__rng_seed(pp__rng *r, uint64_t seed);
uint64_t pp__rng_next(pp__rng *r);
/* Uniform in (0, 1), never 0 or 1. */
double pp__rng_uniform(pp__rng *r);
/* Standard normal (Box-Muller). */
double pp__rng_normal(pp__rng *r);

#endif
