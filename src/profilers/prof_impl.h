/*
 * prof_impl.h - Helpers shared by the profilers: clocks (wall, process CPU),
 * timed stage calls, medians and spreads. Library-internal.
 */
#ifndef PP_PROF_IMPL_H
#define PP_PROF_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <postprof/config.h>
#include <postprof/histogram.h>
#include <postprof/report.h>
#include <postprof/workload.h>

/* Process CPU time (all threads), ns. */
uint64_t pp__prof_cpu_ns(void);

/* One stage call timed: *out_wall_ns, *out_cpu_ns (process CPU; may be NULL). */
int pp__prof_timed(const pp_workload *w, pp_stage stage, unsigned index, pp_stage_result *res,
                   double *out_wall_ns, double *out_cpu_ns);

/* Median of v[0..n) (sorts v in place); 0 for n == 0. */
double pp__prof_median(double *v, size_t n);

/* (max - min) / median of v[0..n) (sorts v); 0 for n < 2 or a zero median. */
double pp__prof_spread(double *v, size_t n);

/* The q-quantile (ns) of the values recorded into `after` since it looked like
 * `before` (NULL: all of them); 0 when none. Bucket midpoints, like
 * pp_histogram_value_at(). */
double pp__prof_hist_delta_quantile(const pp_histogram *after, const pp_histogram *before,
                                    double q);

/* Set knob, remembering the old value in *old (PP_EUNAVAIL when absent). */
int pp__prof_knob_swap(const pp_workload *w, pp_knob knob, int64_t value, int64_t *old);

/* Start an experiment on knob: clear *out and fill what it is (name, stage,
 * knob, cand_value) with the knob's current value as both current_value and
 * base_value. Returns get_knob's error (PP_EUNAVAIL when absent). */
PP_NODISCARD int pp__prof_experiment_begin(const pp_workload *w, const char *name, pp_stage stage,
                                           pp_knob knob, int64_t cand, pp_experiment *out);

/*
 * pp__prof_pass_trial() - The knob experiment behind every suggestion: pairs
 * of whole passes at the knob's current value and at cand, interleaved,
 * until the end-to-end interval is narrow enough (cfg->target_half_width),
 * cfg->max_pairs, or budget_ns of passes after the first 6 pairs; per-site
 * speedups and the predicted gain from analyze/predict.c. `stage` labels the
 * experiment (the stage the candidate came from). Returns PP_OK;
 * PP_EUNAVAIL when the knob is absent or already at cand; the workload's
 * errors. The knob is back at its value on return.
 */
int pp__prof_pass_trial(const pp_workload *w, const pp_profiler_cfg *cfg, const char *name,
                        pp_stage stage, pp_knob knob, int64_t cand, double budget_ns,
                        pp_experiment *out);

/* Append an experiment to r. Returns PP_OK or PP_EFULL (r unchanged). */
int pp__prof_append_experiment(pp_report *r, const pp_experiment *e);

#endif
