/*
 * postprof/analyze.h - Pure analyses over measured figures: bottleneck rules,
 * suggestions with expected improvement (Amdahl's law, critical path),
 * performance targets, miss-ratio curves (exact and SHARDS) and regression
 * comparison of two reports. No I/O, no clocks: same input, same output.
 */
#ifndef POSTPROF_ANALYZE_H
#define POSTPROF_ANALYZE_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/config.h>
#include <postprof/error.h>
#include <postprof/export.h>
#include <postprof/report.h>

/* ---- arithmetic ---------------------------------------------------------- */

/*
 * pp_amdahl_improvement() - Fraction of end-to-end time saved when a stage
 * taking share p (0..1) of it becomes s times faster: p * (1 - 1/s).
 * Returns 0 for s <= 1 (a slowdown is never suggested) and clamps p to [0, 1];
 * NaN inputs give 0. Pure.
 */
PP_EXPORT double pp_amdahl_improvement(double p, double s);

/* pp_amdahl_speedup() - Overall speedup 1 / ((1 - p) + p / s); 1 for s <= 0 or NaN. Pure. */
PP_EXPORT double pp_amdahl_speedup(double p, double s);

/*
 * pp_critical_path_ns() - Duration of stages that run at the same time: the
 * longest of them (the max, not the sum). 0 for n == 0. Pure.
 */
PP_EXPORT double pp_critical_path_ns(const double *stage_ns, size_t n);

/* pp_impact_from_gain() - HIGH for gain >= 0.20, MEDIUM for >= 0.05, LOW otherwise. */
PP_EXPORT pp_impact pp_impact_from_gain(double gain);

/* ---- bottlenecks --------------------------------------------------------- */

/*
 * pp_bottleneck_check_op() - Apply the per-operation rules to one op:
 * slow (mean call > slow_s high, > moderate_s moderate), memory (delta >
 * mem_high_mb high, > mem_moderate_mb moderate, with share >= min_mem_share),
 * cpu (CPU/wall > cpu_high percent, high, with share >= min_cpu_share), share (>= share, high),
 * tail (p99/p50 >= tail_ratio with share >= min_tail_share, moderate), waiting (CPU/wall <=
 * waiting_cpu_share with share >= min_wait_share, moderate), alloc_rate (alloc bytes / total time
 * >= alloc_rate_mb_s, moderate). An async op (op->async) is not judged by share: share, tail and
 * waiting do not apply to it. The default threshold rules compare with '>', added rules with '>=' /
 * '<='. Writes at most cap findings; returns how many fired (may exceed cap: the rest were
 * dropped). Pure.
 */
PP_EXPORT size_t pp_bottleneck_check_op(const pp_perf_op *op, const pp_thresholds *t,
                                        pp_finding *out, size_t cap);

/*
 * pp_bottleneck_detect() - Run every rule over the report: each op of the
 * performance profile, each data source's batch (slow, tail, waiting), each
 * model's chosen batch (slow, tail), the cache (hit ratio < cache_hit_ratio:
 * high below half of it, moderate otherwise) and the process CPU. Replaces
 * r->findings. Pure; never fails (findings over PP_REPORT_MAX_FINDINGS are
 * dropped).
 */
PP_EXPORT void pp_bottleneck_detect(pp_report *r, const pp_thresholds *t);

/* ---- suggestions --------------------------------------------------------- */

/*
 * pp_suggest() - Turn the report's knob experiments into suggestions: an
 * experiment is suggested (e->suggested = 1) when the lower end of its
 * predicted gain's 90 % interval (predicted_low, from the sites whose self
 * time changed significantly) is above min_effect (a fraction of end-to-end
 * time, e.g. 0.01); expected_improvement and its interval are the
 * prediction. Loads from several sources with no concurrency experiment get
 * the critical-path bound (basis "estimated"). Replaces r->suggestions,
 * sorted by expected improvement (largest first). Pure.
 */
PP_EXPORT void pp_suggest(pp_report *r, double min_effect);

/* ---- targets ------------------------------------------------------------- */

/*
 * pp_targets_evaluate() - The five design targets with their measured value
 * and PASS/FAIL: data_loading_latency (worst source's p95 batch, ms),
 * inference_latency (worst model's p99 at its chosen batch, ms),
 * cache_hit_ratio, memory (peak RSS, GB), cpu (process CPU, %). A target
 * with no data is FAIL with measured = 0. Writes up to cap (>= 5 needed);
 * returns the number written. Pure.
 */
PP_EXPORT size_t pp_targets_evaluate(const pp_report *r, const pp_targets_cfg *t, pp_target *out,
                                     size_t cap);

/* ---- miss-ratio curves --------------------------------------------------- */

typedef struct pp_mrc pp_mrc;

/*
 * pp_mrc_exact() - Miss-ratio curve of an LRU cache for every capacity, from
 * the access trace keys[0..n) (Mattson stack distances, O(n log n) with a
 * Fenwick tree). Returns PP_OK and *out (free with pp_mrc_free), PP_EINVAL
 * for n == 0 or n > 2^31, PP_ENOMEM. Pure.
 */
PP_EXPORT PP_NODISCARD int pp_mrc_exact(const uint64_t *keys, size_t n, pp_mrc **out);

/*
 * pp_mrc_shards() - Approximate curve by SHARDS: only keys whose hash falls
 * under rate (0 < rate <= 1) are tracked, and their stack distances scaled
 * by 1/rate (with SHARDS' count adjustment). Memory and time proportional
 * to the sampled part. Returns like pp_mrc_exact(); PP_EINVAL for a rate
 * outside (0, 1]. Pure.
 */
PP_EXPORT PP_NODISCARD int pp_mrc_shards(const uint64_t *keys, size_t n, double rate, pp_mrc **out);

/* pp_mrc_free() - Release a curve. NULL is a no-op. */
PP_EXPORT void pp_mrc_free(pp_mrc *m);

/* pp_mrc_miss_ratio() - Miss ratio (0..1) of an LRU cache of `capacity` entries. */
PP_EXPORT double pp_mrc_miss_ratio(const pp_mrc *m, uint64_t capacity);

/*
 * pp_mrc_capacity_for() - Smallest capacity whose hit ratio is >= hit_ratio;
 * 0 when no capacity reaches it (cold misses alone exceed 1 - hit_ratio).
 */
PP_EXPORT uint64_t pp_mrc_capacity_for(const pp_mrc *m, double hit_ratio);

/* pp_mrc_unique() - Distinct keys seen (estimated for SHARDS). */
PP_EXPORT uint64_t pp_mrc_unique(const pp_mrc *m);

/*
 * pp_mrc_sample() - Up to cap points of the curve at capacities spread
 * geometrically from 1 to the number of distinct keys. Returns the count.
 */
PP_EXPORT size_t pp_mrc_sample(const pp_mrc *m, pp_mrc_point *out, size_t cap);

/* ---- comparison (the CI gate) ------------------------------------------- */

#define PP_COMPARE_MAX 48       /* metrics compared */
#define PP_COMPARE_MAX_RUNS 256 /* reports per side */

/* What the interval of a metric's ratio candidate/baseline says. */
typedef enum pp_compare_verdict {
    PP_COMPARE_INCONCLUSIVE = 0, /* too few runs or too much noise to tell (see runs_needed) */
    PP_COMPARE_BETTER,           /* whole interval below 1 / (1 + tolerance) */
    PP_COMPARE_WORSE,            /* whole interval above 1 + tolerance: a regression */
    PP_COMPARE_NO_CHANGE         /* whole interval within [1 / (1 + tolerance), 1 + tolerance] */
} pp_compare_verdict;

/* pp_compare_verdict_name() - "better", "worse", "no significant change", "inconclusive". */
PP_EXPORT const char *pp_compare_verdict_name(pp_compare_verdict v);

typedef struct pp_compare_row {
    char metric[PP_REPORT_NAME_MAX]; /* "end_to_end", "load.api.p95", "infer.small_model.p99" ... */
    char unit[8];                    /* "s", "ratio", "bytes" */
    double base, cand; /* typical value per side: the baseline runs' median, base * ratio */
    double ratio, low,
        high;              /* candidate / baseline and its interval (low 0, high INFINITY: none) */
    size_t n_base, n_cand; /* runs that measured the metric on each side */
    pp_compare_verdict verdict;
    size_t runs_needed; /* inconclusive: about how many runs per side (pairs when paired) would
                           decide (0: unknown) */
    double spread; /* sd of log(candidate / baseline) of one comparison: paired, over the pairs;
                      unpaired, sqrt 2 x the runs' pooled sd of logs (NAN: too few runs) */
} pp_compare_row;

typedef struct pp_compare_result {
    size_t n;
    pp_compare_row rows[PP_COMPARE_MAX];
    int regressions, improvements, unchanged, inconclusive; /* rows of each verdict */
    double tolerance, conf;                                 /* conf: for all metrics together */
    double row_conf; /* each metric's interval: 1 - (1 - conf) / metrics (Bonferroni) */
    size_t min_runs; /* fewest runs per side (pairs) with which an interval can exclude 1 at all */
    int paired;      /* 1: from pp_compare_pairs() */
} pp_compare_result;

/*
 * pp_compare_runs() - Compare nc candidate runs against nb baseline runs
 * (each a report of one `postprof run`). Every metric is one value per run:
 * end-to-end time (the run's median pass), each source's p95 and each model's
 * p99 at the workload's batch size (percentiles of the run's per-batch
 * samples, interpolated; a run without samples does not count for that
 * metric), the cache's miss ratio and the peak RSS. Per metric, the ratio
 * candidate/baseline of the runs' values with its interval at level conf
 * (Hodges-Lehmann over runs, Mann-Whitney interval: the statistics module),
 * so the variance between runs is what the interval measures. The intervals
 * are simultaneous: with m metrics, each is at 1 - (1 - conf) / m, so two
 * alike sets of runs make any metric a regression with chance at most
 * 1 - conf. A metric is a regression only when its whole interval lies above
 * 1 + tolerance; one run per side is always inconclusive.
 * Returns PP_OK; PP_EINVAL for nb or nc of 0 or over PP_COMPARE_MAX_RUNS,
 * tolerance < 0, conf outside (0.5, 1); PP_ENOMEM. *out is zeroed first.
 * Pure.
 */
PP_EXPORT PP_NODISCARD int pp_compare_runs(const pp_report *const *base, size_t nb,
                                           const pp_report *const *cand, size_t nc,
                                           double tolerance, double conf, pp_compare_result *out);

/*
 * pp_compare_pairs() - Like pp_compare_runs(), for n pairs of runs where
 * base[i] and cand[i] ran one right after the other (interleaved: A B B A A B
 * ...): per metric, the ratio from the pairs' ratios cand[i] / base[i]
 * (Hodges-Lehmann over the Walsh averages of their logs, Wilcoxon
 * signed-rank interval), so what the machine did at the time of a pair falls
 * on both of its runs and cancels. A pair counts for a metric only when both
 * of its runs measured it. Same simultaneous intervals and verdicts; one pair
 * is always inconclusive (min_runs: the fewest pairs that can decide).
 * Returns PP_OK; PP_EINVAL for n of 0 or over PP_COMPARE_MAX_RUNS, a NULL
 * report, tolerance < 0, conf outside (0.5, 1); PP_ENOMEM. Pure.
 */
PP_EXPORT PP_NODISCARD int pp_compare_pairs(const pp_report *const *base,
                                            const pp_report *const *cand, size_t n,
                                            double tolerance, double conf, pp_compare_result *out);

/* A setting two reports differ in (pp_report.settings); "" where one lacks it. */
typedef struct pp_compare_mismatch {
    char setting[PP_REPORT_NAME_MAX];
    char base[PP_REPORT_TEXT_MAX], cand[PP_REPORT_TEXT_MAX];
} pp_compare_mismatch;

/*
 * pp_compare_settings() - The settings whose values differ between a and b
 * (a setting only one has counts), in a's order then b's, leaving out those
 * named in expect[0..n_expect): an entry matches a setting's whole name
 * ("knob.batch_size") or its part after the group ("batch_size" matches
 * knob.batch_size and run.batch_size). Writes up to cap into out; returns
 * how many differ (may exceed cap). Pure.
 */
PP_EXPORT size_t pp_compare_settings(const pp_report *a, const pp_report *b,
                                     const char *const *expect, size_t n_expect,
                                     pp_compare_mismatch *out, size_t cap);

/*
 * pp_compare_setting_group() - What a setting is about, for messages: "data
 * size", "model", "sources", "machine", "workload" or "settings".
 */
PP_EXPORT const char *pp_compare_setting_group(const char *setting);

#endif
